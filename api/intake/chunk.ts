/**
 * A chunk of the daily list taken in: its PostgreSQL work done once for the chunk (the ledger read,
 * the policies, the new loans' parties, the running watches), its Temporal work one call per row.
 * A new loan's row answers `created` once Temporal has durably accepted its case: the intake does
 * not wait for the case's first task nor for its ledger row (an officer's `POST /v1/cases` does).
 */
import { inArray } from 'drizzle-orm';
import { latestPolicy } from '../../db/policies';
import { storeCasesParties } from '../../db/parties';
import { cases } from '../../db/schema';
import { watchedLoans } from '../../db/watches';
import { CLOSED_STAGES, workflowIdForLoan, type CaseIntake, type CaseStage, type CollectionPolicy } from '../../domain';
import { handOverWatch, startCase } from '../../temporal/open-case';
import { assertBranch } from '../auth/access';
import { badRequest } from '../errors';
import { loanIntakeOf } from '../open-case';
import { caseColumns, type CaseRow } from '../plugins/app/cases-repository';
import type { IntakeRow } from '../schemas/intake';
import { answered, intakeRowAlone, judged, ledgerShows, rejected, reportArrears, rowProblem, rowRequestId, type IntakeDeps, type RowAnswer, type RowContext } from './row';

export interface ChunkContext extends RowContext {
  /** The officer a new case of the branch goes to when its row names none. */
  pickOfficer: (branch: string) => Promise<string | null>;
  /** Every call to Temporal goes through it: the run's bound on calls in flight. */
  call: <T>(work: () => Promise<T>) => Promise<T>;
}

/** What the chunk does with a row once the ledger has been read. */
type Plan = { answer: RowAnswer } | { report: true } | { open: CaseIntake };

async function ledgerRows(deps: IntakeDeps, caseIds: string[]): Promise<Map<string, CaseRow>> {
  const rows = await deps.db.select(caseColumns).from(cases).where(inArray(cases.caseId, caseIds));
  return new Map(rows.map((r) => [r.caseId, r]));
}

/** Each policy the chunk's rows name, latest version, read once. */
async function policiesOf(deps: IntakeDeps, rows: readonly IntakeRow[]): Promise<Map<string, CollectionPolicy | undefined>> {
  const names = [...new Set(rows.map((r) => r.policy ?? 'standard'))];
  return new Map(await Promise.all(names.map(async (name) => [name, await latestPolicy(deps.db, name)] as const)));
}

/** As `openCaseForLoan` judges a row, from the chunk's reads instead of its own. */
async function plan(deps: IntakeDeps, chunk: ChunkContext, row: IntakeRow, existing: CaseRow | undefined, policies: Map<string, CollectionPolicy | undefined>): Promise<Plan> {
  const caseId = workflowIdForLoan(row.loanId);
  assertBranch(chunk.caller, row.branch);
  if (existing) assertBranch(chunk.caller, existing.branch);
  const closed = existing !== undefined && CLOSED_STAGES.includes(existing.stage as CaseStage);
  if (existing && !closed) return ledgerShows(existing, row) ? { answer: answered(caseId, 'unchanged') } : { report: true };
  // A new episode needs a new delinquency: a repeat of the closed episode's row changes nothing.
  if (existing && row.overdueSince <= existing.overdueSince) return { answer: answered(caseId, 'unchanged') };
  const policyName = row.policy ?? 'standard';
  const policy = policies.get(policyName);
  if (!policy) throw badRequest([{ field: 'policy', reason: `is not a known collection policy: "${policyName}"` }]);
  const { overdueAmount, arrears, ...facts } = row;
  const body = { ...facts, overdue: overdueAmount, ...(arrears ? { arrears } : {}) };
  return {
    open: {
      requestId: rowRequestId(chunk.runId, row.loanId),
      by: { sub: chunk.caller.sub, role: chunk.caller.role },
      loan: loanIntakeOf(body, row.officerId ?? (await chunk.pickOfficer(row.branch)), deps.householdKey),
      policy,
      episode: existing ? existing.episode + 1 : 1,
    },
  };
}

/** The row's plan, or its rejection when the service refuses it. */
async function planRow(deps: IntakeDeps, chunk: ChunkContext, row: IntakeRow, existing: CaseRow | undefined, policies: Map<string, CollectionPolicy | undefined>): Promise<Plan> {
  try {
    return await plan(deps, chunk, row, existing, policies);
  } catch (err) {
    const errors = rowProblem(err);
    if (!errors) throw err;
    return { answer: rejected(workflowIdForLoan(row.loanId), errors) };
  }
}

/**
 * Takes in the chunk's rows (each loan at most once) and answers each, in the chunk's order;
 * `onRow` is called as each row is answered. A new loan's start that finds its case running
 * (the list retried, or taken in twice at once) takes the row-by-row path, which answers as the
 * running case sees it.
 */
export async function takeChunk(deps: IntakeDeps, chunk: ChunkContext, rows: readonly IntakeRow[], onRow: () => void): Promise<RowAnswer[]> {
  const caseIds = rows.map((r) => workflowIdForLoan(r.loanId));
  const [ledger, policies] = await Promise.all([ledgerRows(deps, caseIds), policiesOf(deps, rows)]);
  const plans: Plan[] = [];
  for (const [i, row] of rows.entries()) plans.push(await planRow(deps, chunk, row, ledger.get(caseIds[i]!), policies));
  // Before any start: the case's first letter may be due at once, and its parties must be there.
  await storeCasesParties(
    deps.db,
    plans.flatMap((p) => ('open' in p ? [{ caseId: workflowIdForLoan(p.open.loan.loanId), parties: p.open.loan }] : [])),
  );
  const started: string[] = [];
  const answers = await Promise.all(
    plans.map(async (p, i): Promise<RowAnswer> => {
      const row = rows[i]!;
      const caseId = caseIds[i]!;
      let answer: RowAnswer;
      if ('answer' in p) answer = p.answer;
      else if ('report' in p) answer = await chunk.call(() => judged(caseId, () => reportArrears(deps, chunk, caseId, row)));
      else if ((await chunk.call(() => startCase(deps.temporal, deps.taskQueue, p.open))) === 'started') {
        started.push(row.loanId);
        answer = answered(caseId, 'created');
      } else answer = await chunk.call(() => intakeRowAlone(deps, chunk, row));
      onRow();
      return answer;
    }),
  );
  // One read for the chunk instead of a signal per row that mostly finds no watch; a row that
  // took the row-by-row path hands over there.
  const by = { sub: chunk.caller.sub, role: chunk.caller.role };
  const watched = await watchedLoans(deps.db, started);
  await Promise.all(
    [...watched].map((loanId) =>
      chunk.call(() => handOverWatch(deps.temporal, workflowIdForLoan(loanId), loanId, { requestId: rowRequestId(chunk.runId, loanId), by })),
    ),
  );
  return answers;
}
