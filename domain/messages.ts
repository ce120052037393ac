/**
 * The case workflow's contract: its input, its messages and what it answers. The workflow, the
 * worker, the API and the tests all import these definitions, so a name is spelled once.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Arrears, CaseOutcome, ReportedArrears } from './arrears';
import type { Likelihood } from './classification';
import type { Actor, CaseStage, Collateral, ContactChannel, ContactOutcome, FindingConclusion, Hand, Party, PauseReason } from './case';
import type { RejectionReason } from './events';
import type { AllocationRule, CollateralStatus, MeasureDecision, MeasureState, MeasureType, MeasureView, ProceedsView } from './measures';
import type { CollectionPolicy } from './policy';

export const TASK_QUEUE = 'collection-cases';
export const CASE_WORKFLOW_TYPE = 'collectionCase';

/** The facts of an overdue loan at intake. Amounts in minor units of `currency`. */
export interface LoanFacts {
  loanId: string;
  /** Only in openings made before the parties moved out of Temporal: the case hands it to the
   * ledger once. Intake now writes the parties to PostgreSQL and the workflow never sees them. */
  borrower?: Party;
  /** Where intake put the borrower and guarantors (`case_parties:<case id>`); absent in openings
   * that still carried them. */
  partiesRef?: string;
  branch: string;
  product: string;
  secured: boolean;
  currency: string;
  principal: number;
  outstanding: number;
  overdue: number;
  /** `overdue` by component, summing to it; absent where intake reports only the total (then
   * all principal). */
  arrears?: ReportedArrears;
  /** The first missed due date (YYYY-MM-DD): days past due count from it. */
  overdueSince: string;
  collateral: Collateral[];
  guarantors: Guarantor[];
  officerId?: string | null;
  /** Who made the loan and what was known then: the accountability finding after a write-off
   * names them. Absent where intake does not know. */
  origination?: Origination;
  /** The borrower's household (一户): a keyed hash of the ID number, never the number itself.
   * Absent on loans taken in before households. */
  householdId?: string | null;
}

export interface Origination {
  /** The loan officer (信贷经理) who originated it. */
  officerId: string;
  /** Who approved it (the branch, head-office reviewers). */
  approvedBy: string[];
  /** Risk flags known at origination (an officer's doubts, a non-compliant purpose, pushed
   * through against review advice…). */
  riskFlags: string[];
}

/** What a case knows of a guarantor (by position in the list): what they guaranteed (minor units
 * of the loan's currency), the most a guarantor claim may demand of them; absent on loans taken in
 * before claims. Openings made before the parties moved out of Temporal also carry the person. */
export interface Guarantor extends Partial<Party> {
  guaranteedAmount?: number;
}

/** The loan as intake receives it, with its parties: intake keeps them in PostgreSQL
 * (`case_parties`) and opens the case with `LoanFacts` that carry none (temporal/open-case.ts). */
export interface LoanIntake extends Omit<LoanFacts, 'borrower' | 'guarantors' | 'partiesRef'> {
  borrower: Party;
  guarantors: (Party & { guaranteedAmount?: number })[];
}

/** An opening as intake receives it: the loan with its parties. */
export interface CaseIntake extends Omit<CaseOpening, 'loan'> {
  loan: LoanIntake;
}

/** What intake hands a new case: the loan, the policy version it will run, who opened it. */
export interface CaseOpening {
  requestId: string;
  by: Actor;
  loan: LoanFacts;
  policy: CollectionPolicy;
  /** Continue-as-new after this many history events instead of waiting for the server's
   * suggestion; tests use it to exercise continue-as-new on a short case. */
  continueAsNewAfterEvents?: number;
  /** The episode this opening starts: 1 for a loan's first case, one more than the closed
   * episode when the loan is overdue again. Absent in openings made before episodes were numbered. */
  episode?: number;
}

/** An officer overrides the policy's recovery likelihood, with a reason; `null` hands the
 * classification back to the policy's rules. */
export interface ClassifyCase extends MessageMeta {
  likelihood: Likelihood | null;
  reason: string;
}

/** The recovery likelihood as the case holds it: the policy's (rule and version named) and an
 * officer's override, which wins while it stands. */
export interface ClassificationView {
  likelihood: Likelihood;
  computed: { likelihood: Likelihood; rule: string; policy: { name: string; version: number } };
  override: { likelihood: Likelihood; reason: string; by: Actor; at: string } | null;
}

/** Every officer message carries its sender and a request id; a repeated id has no effect. */
export interface MessageMeta {
  requestId: string;
  by: Actor;
  /** When the sender sent it (ISO date-time). A queued message that reaches the case late is
   * applied as of this instant (bounded by what the case already applied and by now). */
  sentAt?: string;
}

export interface RecordContact extends MessageMeta {
  channel: ContactChannel;
  outcome: ContactOutcome;
  note?: string;
}

export interface RecordPayment extends MessageMeta {
  amount: number;
  /** Who paid: `borrower` (the default) or `guarantor:<n>`, the n-th guarantor (from 1). */
  payer?: string;
  /** When the borrower paid (ISO date-time); may lie in the past, never in the future. */
  paidAt: string;
  reference: string;
}

export interface PromiseToPay extends MessageMeta {
  amount: number;
  /** The case-calendar date (YYYY-MM-DD) by the end of which the amount is due. */
  dueDate: string;
}

export interface AddNote extends MessageMeta {
  summary: string;
  problems?: string;
  nextSteps?: string;
}

export interface AssignOfficer extends MessageMeta {
  officerId: string;
}

export interface PauseCase extends MessageMeta {
  reason: PauseReason;
  /** Case-calendar date on which the case resumes by itself. */
  until?: string;
  note?: string;
}

export interface ResumeCase extends MessageMeta {
  note?: string;
}

/** Proposes a measure of the plan; `measureId` is made by the sender, so a retry names it again. */
export interface ProposeMeasure extends MessageMeta {
  measureId: string;
  type: MeasureType;
  rationale: string;
  expectedRecovery: number;
  /** Restructuring and extension: instalments (case-calendar dates, ascending, minor units)
   * that sum to the arrears they replace. */
  schedule?: { dueDate: string; amount: number }[];
  /** Other cases of the household the measure also covers (a sale recovering two loans). */
  covers?: string[];
  allocation?: AllocationRule;
}

/** A supervisor's decision on a proposed measure: never the proposer's own (four eyes). */
export interface DecideMeasure extends MessageMeta {
  measureId: string;
  decision: MeasureDecision;
  reason: string;
}

/** Progress of an approved measure: started, still under way, or ended. */
export interface ReportMeasure extends MessageMeta {
  measureId: string;
  status: Extract<MeasureState, 'in_progress' | 'succeeded' | 'failed' | 'cancelled'>;
  note: string;
  /** A collateral sale's or rent's proceeds, and their allocation among the covered cases (made
   * by the sender from the ledger); this case credits its own share. */
  proceeds?: Omit<ProceedsView, 'net' | 'at'>;
  /** The collateral's status, by its position in the loan's list. */
  collateral?: { index: number; status: CollateralStatus };
}

/** Asks to write the debt off: allowed once litigation and enforcement are exhausted, or with a
 * supervisor's override reason. A second supervisor decides. */
export interface RequestWriteOff extends MessageMeta {
  reason: string;
  amount: number;
  overrideReason?: string;
}

export interface AccountabilityFinding {
  conclusion: FindingConclusion;
  reasoning: string;
  /** The risk flags known at origination and in collection. */
  riskFlags: string[];
}

export interface DecideWriteOff extends MessageMeta {
  decision: MeasureDecision;
  reason: string;
  /** Required to approve: the accountability finding (责任认定). */
  finding?: AccountabilityFinding;
}

export interface WriteOffView {
  state: 'requested' | 'approved' | 'rejected';
  reason: string;
  amount: number;
  overrideReason: string | null;
  requestedBy: Actor;
  requestedAt: string;
  decision: { decision: MeasureDecision; by: Actor; at: string; reason: string } | null;
  finding:
    | (AccountabilityFinding & {
        involved: { officers: string[]; approvers: string[]; origination: Origination | null };
      })
    | null;
}

export type OpenCaseRequest = MessageMeta;

export interface OpenPromiseView {
  amount: number;
  dueDate: string;
  promisedAt: string;
  paidSoFar: number;
}

export interface PauseView {
  reason: PauseReason;
  since: string;
  until: string | null;
}

export const NEXT_ACTION_TYPES = ['escalate', 'promise_due', 'resume', 'instalment_due'] as const;
export type NextActionType = (typeof NEXT_ACTION_TYPES)[number];

export interface NextActionView {
  type: NextActionType;
  at: string;
  hand: Hand | null;
}

/** The live state of a case as the query, the update and the ledger present it. */
export interface CaseView {
  caseId: string;
  loanId: string;
  householdId: string | null;
  stage: CaseStage;
  hand: Hand;
  /** The case's own date (YYYY-MM-DD): promise and pause dates are judged against it. On a
   * compressed demo calendar it runs ahead of the wall-clock date. */
  caseDate: string;
  daysPastDue: number;
  pausedDays: number;
  overdueSince: string;
  currency: string;
  principal: number;
  overdue: number;
  /** `overdue` by component (fees, penalty interest, interest, principal, legal costs charged). */
  arrears: Arrears;
  outstanding: number;
  /** Credited to the loan; what exceeded everything owed is in `creditToReturn`, not here. */
  recovered: number;
  /** Paid beyond everything owed: to return to the payer, never counted as recovered. */
  creditToReturn: number;
  /** How collection ended; null while it goes on (and for cases closed before outcomes). */
  outcome: CaseOutcome | null;
  /** A settlement agreement the case holds the borrower to: once paid, what remains is waived. */
  settlement: SettlementView | null;
  /** Recovery likelihood; null for cases that have not been classified yet. */
  classification: ClassificationView | null;
  /** Amount tier by outstanding balance (the policy's thresholds); null before classification. */
  tier: string | null;
  branch: string;
  product: string;
  secured: boolean;
  officerId: string | null;
  policy: { name: string; version: number };
  openPromise: OpenPromiseView | null;
  pause: PauseView | null;
  nextAction: NextActionView | null;
  /** The plan (一户一策): every measure of this episode, oldest first. */
  measures: MeasureView[];
  /** The latest write-off request and its decision, if any. */
  writeOff: WriteOffView | null;
  /** Recovered after the write-off (counted in `recovered` too). */
  recoveredAfterWriteOff: number;
  /** Legal costs the suits recorded, in minor units. */
  legalCosts: number;
  /** Each collateral's status, by its position in the loan's list (held until seized, for sale, sold). */
  collateralStatus: CollateralStatus[];
  /** Batches the ledger refused (newest last): their events are set aside in `projection_incidents`. */
  incidents: ProjectionIncidentView[];
  openedAt: string;
  closedAt: string | null;
}

export interface SettlementView {
  measureId: string;
  amount: number;
  /** Paid since the agreement. */
  paid: number;
  agreedAt: string;
}

export interface ProjectionIncidentView {
  version: number;
  at: string;
  error: string;
  eventTypes: string[];
}

export interface OpenCaseResult {
  /** True when this request opened the case, false when it found the case already open. */
  created: boolean;
  case: CaseView;
}

/** What an accepted officer's message answers once the ledger holds it. `applied` is false
 * for a request id the case had already applied in an earlier run (the change happened once). */
export interface MessageResult {
  applied: boolean;
  case: CaseView;
}

/** Why the case refused a message; an update validator throws it as `MESSAGE_REFUSED`. */
export interface Refusal {
  reason: RejectionReason;
  /** The request field at fault, where one is. */
  field?: string;
  /** What the case would accept instead: its date, the latest promise date, the open promise… */
  detail: Record<string, unknown>;
}

export const MESSAGE_REFUSED = 'MessageRefused';

export const openCaseUpdate = defineUpdate<OpenCaseResult, [OpenCaseRequest]>('openCase');
export const recordContactUpdate = defineUpdate<MessageResult, [RecordContact]>('recordContact');
export const recordPaymentUpdate = defineUpdate<MessageResult, [RecordPayment]>('recordPayment');
export const promiseToPayUpdate = defineUpdate<MessageResult, [PromiseToPay]>('promiseToPay');
export const addNoteUpdate = defineUpdate<MessageResult, [AddNote]>('addNote');
export const assignOfficerUpdate = defineUpdate<MessageResult, [AssignOfficer]>('assignOfficer');
export const pauseUpdate = defineUpdate<MessageResult, [PauseCase]>('pause');
export const resumeUpdate = defineUpdate<MessageResult, [ResumeCase]>('resume');
export const proposeMeasureUpdate = defineUpdate<MessageResult, [ProposeMeasure]>('proposeMeasure');
export const decideMeasureUpdate = defineUpdate<MessageResult, [DecideMeasure]>('decideMeasure');
export const reportMeasureUpdate = defineUpdate<MessageResult, [ReportMeasure]>('reportMeasure');
export const requestWriteOffUpdate = defineUpdate<MessageResult, [RequestWriteOff]>('requestWriteOff');
export const decideWriteOffUpdate = defineUpdate<MessageResult, [DecideWriteOff]>('decideWriteOff');
export const classifyUpdate = defineUpdate<MessageResult, [ClassifyCase]>('classify');

// The same messages as signals: durably queued while no worker runs (`?async=true`).
export const recordContactSignal = defineSignal<[RecordContact]>('recordContact');
export const recordPaymentSignal = defineSignal<[RecordPayment]>('recordPayment');
export const promiseToPaySignal = defineSignal<[PromiseToPay]>('promiseToPay');
export const addNoteSignal = defineSignal<[AddNote]>('addNote');
export const assignOfficerSignal = defineSignal<[AssignOfficer]>('assignOfficer');
export const pauseSignal = defineSignal<[PauseCase]>('pause');
export const resumeSignal = defineSignal<[ResumeCase]>('resume');
export const proposeMeasureSignal = defineSignal<[ProposeMeasure]>('proposeMeasure');
export const decideMeasureSignal = defineSignal<[DecideMeasure]>('decideMeasure');
export const reportMeasureSignal = defineSignal<[ReportMeasure]>('reportMeasure');
export const requestWriteOffSignal = defineSignal<[RequestWriteOff]>('requestWriteOff');
export const classifySignal = defineSignal<[ClassifyCase]>('classify');
export const decideWriteOffSignal = defineSignal<[DecideWriteOff]>('decideWriteOff');
export const caseStateQuery = defineQuery<CaseView>('caseState');

