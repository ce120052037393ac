import { Type, type Static } from 'typebox';
import { REJECTION_REASONS } from '../../domain';
import { ActorSchema, BranchSchema, CaseIdSchema, JsonObjectSchema, LimitSchema, Nullable, StringEnum } from './common';

export const LimitQuerySchema = Type.Object({ limit: Type.Optional(LimitSchema) }, { additionalProperties: false });

export const RefusalSchema = Type.Object({
  requestId: Type.String(),
  message: Type.String({ description: 'The message refused: recordPayment, promiseToPay, …' }),
  reason: StringEnum(REJECTION_REASONS),
  field: Nullable(Type.String()),
  accepted: JsonObjectSchema,
  actor: ActorSchema,
  refusedAt: Type.String(),
});
export type RefusalView = Static<typeof RefusalSchema>;

export const RefusalListSchema = Type.Object({ items: Type.Array(RefusalSchema) });

export const IncidentsQuerySchema = Type.Object(
  { branch: Type.Optional(BranchSchema), limit: Type.Optional(LimitSchema) },
  { additionalProperties: false },
);

export const IncidentSchema = Type.Object({
  caseId: CaseIdSchema,
  runId: Type.String(),
  version: Type.Integer({ description: 'The refused batch' }),
  branch: Type.String(),
  error: Type.String(),
  eventTypes: Type.Array(Type.String(), { description: 'The events the batch carried, set aside' }),
  occurredAt: Type.String(),
});
export type IncidentView = Static<typeof IncidentSchema>;

export const IncidentListSchema = Type.Object({ items: Type.Array(IncidentSchema) });
