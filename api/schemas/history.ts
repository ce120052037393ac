import { Type, type Static } from 'typebox';
import { CaseIdSchema, JsonObjectSchema, StringEnum } from './common';

export const RUN_ID_PATTERN = '^[0-9a-fA-F-]{8,64}$';

export const HistoryQuerySchema = Type.Object(
  {
    format: Type.Optional(
      StringEnum(['decoded', 'raw'] as const, {
        default: 'decoded',
        description: '`decoded` (default): every run of the case, for a person. `raw`: one run as the JSON history that replay and the Temporal CLI accept',
      }),
    ),
    runId: Type.Optional(
      Type.String({ pattern: RUN_ID_PATTERN, description: 'One run of the case (default for `raw`: the latest run)' }),
    ),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuerySchema>;

export const HistoryEventSchema = Type.Object({
  eventId: Type.Integer(),
  time: Type.String({ description: 'ISO date-time' }),
  type: Type.String({ description: 'Temporal event type, e.g. `WorkflowExecutionSignaled`' }),
  details: Type.Unsafe<Record<string, unknown>>({
    ...JsonObjectSchema,
    description:
      'What matters to a person: signal or update name with its sender (`by`) and `requestId` from the payload, timer id and duration, activity type with its result or failure, links to other runs. Borrowers\' and guarantors\' `idNumber` and `phone` are masked.',
  }),
});
export type HistoryEventView = Static<typeof HistoryEventSchema>;

export const HistoryRunSchema = Type.Object({
  runId: Type.String(),
  episode: Type.Integer({ minimum: 1, description: 'The episode of the case this run belongs to' }),
  events: Type.Array(HistoryEventSchema),
});
export type HistoryRunView = Static<typeof HistoryRunSchema>;

export const CaseHistorySchema = Type.Object(
  {
    caseId: CaseIdSchema,
    episode: Type.Integer(),
    runs: Type.Array(HistoryRunSchema, {
      description: 'Every run of the case Temporal still holds, oldest first: the episodes in order, continue-as-new linking the runs of each',
    }),
  },
  { description: 'format=decoded' },
);

export const RawHistorySchema = Type.Unsafe<{ events: unknown[] }>({
  type: 'object',
  description:
    'format=raw: one run\'s history in the proto JSON form of `temporal workflow show --output json` (for `Worker.runReplayHistory` / `historyFromJSON`). Payloads are decrypted (the service\'s payload encryption; replay needs no key), and borrowers\' and guarantors\' names, `idNumber` and `phone` are masked in them (replay does not depend on them).',
  properties: { events: { type: 'array', items: { type: 'object', additionalProperties: true } } },
  required: ['events'],
  additionalProperties: true,
});
