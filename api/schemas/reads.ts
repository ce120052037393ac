import { Type, type Static } from 'typebox';
import { CaseIdSchema, CursorSchema, LimitSchema, Nullable, RoleSchema, StringEnum, SubjectSchema } from './common';

/** What a read showed of a case: the case, a list of cases, its events, refusals, history, a
 * suit, its household, the trail across cases. */
export const READ_KINDS = ['case', 'case_list', 'events', 'refusals', 'history', 'litigation', 'household', 'trail'] as const;
export type ReadKind = (typeof READ_KINDS)[number];

export const ReadsQuerySchema = Type.Object(
  {
    actorSub: Type.Optional(SubjectSchema),
    caseId: Type.Optional(CaseIdSchema),
    what: Type.Optional(StringEnum(READ_KINDS)),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Read at or after (RFC 3339)' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Read before (RFC 3339)' })),
    cursor: Type.Optional(CursorSchema),
    limit: Type.Optional(LimitSchema),
  },
  { additionalProperties: false },
);

export const CaseReadSchema = Type.Object({
  readId: Type.String(),
  readAt: Type.String(),
  actor: Type.Object({ sub: Type.String(), role: RoleSchema, branch: Nullable(Type.String()) }, { description: 'Who read' }),
  caseId: CaseIdSchema,
  what: StringEnum(READ_KINDS),
  requestId: Type.String({ description: 'The request, as the API\'s logs name it (reqId)' }),
});
export type CaseReadView = Static<typeof CaseReadSchema>;

export const ReadsPageSchema = Type.Object({
  items: Type.Array(CaseReadSchema),
  nextCursor: Nullable(Type.String()),
});
