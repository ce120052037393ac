import { Type, type Static } from 'typebox';
import { HandSchema } from './cases';
import { BranchSchema, CaseIdSchema, CursorSchema, DateTimeSchema, JsonObjectSchema, LimitSchema, Nullable, StringEnum, SubjectSchema } from './common';
import { WatchIdSchema } from './watches';
import { CASE_STAGES } from '../../domain';

export const OfficerIdSchema = { ...SubjectSchema, description: 'An officer id: the `sub` of their bearer token' } as typeof SubjectSchema;

/** The most open cases automatic assignment gives one officer. */
export const MAX_CAPACITY = 100_000;

export const OfficerInputSchema = Type.Object(
  {
    id: OfficerIdSchema,
    branch: BranchSchema,
    active: Type.Boolean({ description: 'Inactive officers take no new cases and receive no reassignment' }),
    capacity: Type.Integer({ minimum: 0, maximum: MAX_CAPACITY, description: 'The most open cases automatic assignment gives the officer' }),
  },
  { additionalProperties: false },
);
export type OfficerInput = Static<typeof OfficerInputSchema>;

export const OfficerSchema = Type.Object({
  id: OfficerIdSchema,
  branch: BranchSchema,
  active: Type.Boolean(),
  capacity: Type.Integer({ minimum: 0 }),
  load: Type.Integer({ minimum: 0, description: 'Open cases (not recovered or written off) assigned to the officer in the ledger' }),
  createdAt: DateTimeSchema,
  updatedAt: DateTimeSchema,
});
export type OfficerView = Static<typeof OfficerSchema>;

export const OfficerListSchema = Type.Object({ items: Type.Array(OfficerSchema, { description: 'Registered officers in id order' }) });

export const OfficersQuerySchema = Type.Object({ branch: Type.Optional(BranchSchema) }, { additionalProperties: false });

/** The most cases one bulk reassignment names or moves. */
export const MAX_BULK_CASES = 500;

export const BulkAssignmentSchema = Type.Object(
  {
    officerId: { ...OfficerIdSchema, description: 'The officer who takes the cases' } as typeof OfficerIdSchema,
    caseIds: Type.Optional(
      Type.Array(CaseIdSchema, { minItems: 1, maxItems: MAX_BULK_CASES, uniqueItems: true, description: `The cases to hand on (at most ${MAX_BULK_CASES})` }),
    ),
    fromOfficerId: Type.Optional({
      ...OfficerIdSchema,
      description: `Hand on every open case of this officer (within the caller's branch; at most ${MAX_BULK_CASES} per request)`,
    } as typeof OfficerIdSchema),
  },
  { additionalProperties: false, description: 'Exactly one of `caseIds` and `fromOfficerId`' },
);

export const ASSIGNMENT_OUTCOMES = ['assigned', 'already_assigned', 'refused', 'not_found', 'timeout'] as const;
export type AssignmentOutcome = (typeof ASSIGNMENT_OUTCOMES)[number];

export const AssignmentItemSchema = Type.Object({
  caseId: CaseIdSchema,
  outcome: StringEnum(ASSIGNMENT_OUTCOMES, {
    description:
      '`assigned`: the case took the officer (or had, for a retried request); `already_assigned`: the case already had them (`same_officer`); `refused`: the case or the registry refused, see `reason`; `not_found`: no such case; `timeout`: no worker answered in time, retry with the same Idempotency-Key',
  }),
  reason: Type.Optional(Type.String({ description: 'Why it was refused: a case refusal reason, or `officer_not_of_branch`, `officer_not_registered`' })),
  detail: Type.Optional(JsonObjectSchema),
  requestId: Type.String({ description: 'The request id the reassignment was sent to the case with' }),
});
export type AssignmentItem = Static<typeof AssignmentItemSchema>;

export const AssignmentReportSchema = Type.Object({
  officerId: OfficerIdSchema,
  items: Type.Array(AssignmentItemSchema, { description: 'One entry per case, in the order of the request (or case id order)' }),
  counts: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'Cases per outcome' }),
});

export const WorklistQuerySchema = Type.Object(
  {
    officerId: Type.Optional(OfficerIdSchema),
    branch: Type.Optional(BranchSchema),
    cursor: Type.Optional(CursorSchema),
    limit: Type.Optional(LimitSchema),
  },
  { additionalProperties: false },
);

export const WORKLIST_KINDS = ['task', 'case', 'watch_task'] as const;

export const WorklistItemSchema = Type.Object({
  kind: StringEnum(WORKLIST_KINDS, {
    description: '`task`: an open officer task of a case; `case`: an open case and its next action; `watch_task`: an open task of a risk watch (a visit to a large customer)',
  }),
  id: Type.String({ description: 'The task id, or the case id' }),
  caseId: Nullable(CaseIdSchema, { description: 'The case (`task`, `case`); null for a `watch_task`' }),
  watchId: Nullable(WatchIdSchema, { description: 'The risk watch of a `watch_task`; null otherwise' }),
  branch: BranchSchema,
  officerId: Nullable(Type.String(), { description: 'The case\'s officer in the ledger, or the watch\'s' }),
  dueAt: Nullable(DateTimeSchema, { description: 'When it falls due: the task\'s due time, the case\'s next action; null last' }),
  type: Nullable(Type.String(), { description: 'The task type (`visit` for a watch task), or the case\'s next action type' }),
  hand: Nullable(HandSchema, { description: 'The case\'s hand; null for a `watch_task` (the loan is not overdue)' }),
  stage: Nullable(StringEnum(CASE_STAGES), { description: 'The case\'s stage; null for a `watch_task`' }),
});
export type WorklistItem = Static<typeof WorklistItemSchema>;

export const WorklistSchema = Type.Object({
  items: Type.Array(WorklistItemSchema, { description: 'What falls due first comes first' }),
  nextCursor: Nullable(Type.String()),
});
