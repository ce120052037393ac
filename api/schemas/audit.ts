import { Type, type Static } from 'typebox';
import { REJECTION_REASONS } from '../../domain';
import { ActorSchema, BranchSchema, CaseIdSchema, JsonObjectSchema, LimitSchema, Nullable, StringEnum } from './common';
import { CursorSchema, SubjectSchema } from './common';

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

// Tamper-evident audit: the hash chain of a case's business trail, and the trail across cases.

export const BrokenLinkSchema = Type.Object(
  {
    episode: Type.Integer(),
    seq: Type.Integer(),
    eventId: Type.String(),
    expected: Nullable(Type.String({ description: 'The hash the chain calls for here' })),
    found: Nullable(Type.String({ description: 'The hash the row holds' })),
  },
  { description: 'The first row (in episode, seq order) whose hash or link to its predecessor does not hold' },
);

export const AuditVerifySchema = Type.Object({
  caseId: CaseIdSchema,
  events: Type.Integer({ minimum: 0, description: 'Rows checked' }),
  valid: Type.Boolean(),
  firstBrokenLink: Nullable(BrokenLinkSchema),
});
export type AuditVerifyView = Static<typeof AuditVerifySchema>;

export const AuditQuerySchema = Type.Object(
  {
    actorSub: Type.Optional(SubjectSchema),
    branch: Type.Optional(BranchSchema),
    type: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'An event type' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Occurred at or after (RFC 3339)' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Occurred before (RFC 3339)' })),
    cursor: Type.Optional(CursorSchema),
    limit: Type.Optional(LimitSchema),
  },
  { additionalProperties: false },
);

export const AuditEventSchema = Type.Object({
  caseId: CaseIdSchema,
  branch: Type.String(),
  eventId: Type.String(),
  episode: Type.Integer(),
  seq: Type.Integer(),
  type: Type.String(),
  actor: ActorSchema,
  requestId: Nullable(Type.String()),
  occurredAt: Type.String(),
  recordedAt: Type.String(),
  payload: JsonObjectSchema,
  hash: Nullable(Type.String({ description: 'The row\'s link in its case\'s hash chain' })),
});
export type AuditEventView = Static<typeof AuditEventSchema>;

export const AuditPageSchema = Type.Object({
  items: Type.Array(AuditEventSchema),
  nextCursor: Nullable(Type.String()),
});
