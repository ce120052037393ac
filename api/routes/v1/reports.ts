import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'drizzle-orm';
import type { Database } from '../../../db/client';
import { CLOSED_STAGES, type CaseOutcome, type CaseStage, type Hand, type Likelihood } from '../../../domain';
import { branchScope } from '../../auth/access';
import type { Caller } from '../../auth/tokens';
import { badRequest, forbidden } from '../../errors';
import { callerOf } from '../../plugins/app/authorization';
import { BEARER_SECURITY, described } from '../../schemas/common';
import { ERROR_RESPONSES } from '../../schemas/problem';
import {
  PortfolioQuerySchema,
  PortfolioSchema,
  RollRatesQuerySchema,
  RollRatesSchema,
  ROLL_TARGETS,
  type PortfolioTotals,
  type PortfolioView,
  type RollCell,
  type RollRatesView,
  type RollTarget,
} from '../../schemas/reports';

const AS_OF_RULES = `**As of a date** means as of the end of that UTC date: every event of the business trail (\`case_events\`) that occurred (\`occurred_at\`, wall-clock time) before the next midnight UTC, and nothing after. Each case's state then is rebuilt from its trail alone, never read from the current ledger row — so a date in the past answers what the ledger said then, and today answers the current state:

- **the episode**: the latest episode of the case whose \`case_opened\` occurred by then; a case not yet opened by then is not in the report;
- **hand**: \`payload.hand\` of the episode's last \`hand_entered\` / \`hand_entered_late\`;
- **stage**: from the episode's last stage-changing event — \`case_opened\` and \`case_resumed\` → collecting, \`case_paused\` → paused, \`measure_started\` of a restructuring or extension → restructured (its \`measure_succeeded\` / \`measure_failed\` / \`measure_cancelled\` → collecting), \`case_recovered\` → recovered, \`case_written_off\` → written_off;
- **amounts**: outstanding and arrears (overdue) from the episode's last event that changed them — \`payment_recorded\`, \`arrears_reported\` (the daily overdue list's new figures), \`arrears_waived\` (a settlement honoured) or \`legal_cost_recorded\` where the cost was charged to the borrower — else the amounts at \`case_opened\`; recovered from the last \`payment_recorded\` (\`recoveredAfter\`), else 0;
- **officer**: the last \`officer_assigned\` (\`payload.to\`), else the officer at \`case_opened\`;
- **likelihood**: the last \`case_classified\` or \`classification_overridden\` (\`payload.likelihood\`); **tier**: the last \`case_classified\` (\`payload.tier\`); null before the case was classified;
- **outcome**: \`payload.outcome\` of the last \`case_recovered\` (cured, repaid, settled), \`written_off\` after \`case_written_off\`, null while collecting;
- **branch and currency**: the case's (they never change).

Officers and supervisors see their own branch only (the default branch for them; another branch is 403). Roles: supervisors and admins.`;

const PORTFOLIO_DESCRIPTION = `Counts and amounts (per currency; amounts in minor units, never summed across currencies) by stage, by hand, by branch, by officer, by recovery likelihood, by amount tier and by outcome, with totals, the amount recovered and the recovery rate, and the promise kept rate, as of a date.

${AS_OF_RULES}

Definitions:
- **recoveryRate** = recovered / (recovered + overdue) per currency, over every case of the report (open or closed): the share of the arrears brought into collection that has been paid by then. A recovered case has no arrears left; a written-off case keeps its unpaid arrears in the denominator.
- **promises.keptRate** = kept / (kept + broken), counting the \`promise_kept\` and \`promise_broken\` events (every episode) of the report's cases that occurred up to the end of \`asOf\`; null when there are none.`;

const ROLL_RATES_DESCRIPTION = `The matrix of cases moving between hands between two dates, and out to recovered or written off.

Rows: the hand each case was in at \`from\`, for the cases in collection then (opened by then, not recovered or written off; paused and restructured cases count at their hand). Columns: where the same case was at \`to\` — its hand 1–6 while still in collection, or \`recovered\` / \`written_off\`. Cases opened after \`from\` and cases already closed at \`from\` are in no row. Each cell counts cases and sums their outstanding and arrears as of \`from\`, per currency. A case recovered and overdue again (a new episode) by \`to\` is in the hand of its new episode.

${AS_OF_RULES}`;

/** A case as the trail says it was at a moment. */
export interface CaseState {
  caseId: string;
  branch: string;
  currency: string;
  hand: Hand;
  stage: CaseStage;
  officerId: string | null;
  likelihood: Likelihood | null;
  tier: string | null;
  outcome: CaseOutcome | null;
  outstanding: number;
  overdue: number;
  recovered: number;
}

/** The first instant after the end of a UTC date. */
function endOf(date: string): Date {
  return new Date(Date.parse(`${date}T00:00:00.000Z`) + 86_400_000);
}

/**
 * Every case of the branch (or all) as of `end`, rebuilt from `case_events` alone (see
 * AS_OF_RULES): one pass over the trail before `end`, the last event of each kind per case.
 */
export async function caseStatesAsOf(db: Database, end: Date, branch: string | null): Promise<CaseState[]> {
  const result = await db.execute(sql`
    with ev as (
      select e.case_id, e.episode, e.seq, e.type, e.payload
      from case_events e join cases c on c.case_id = e.case_id
      where e.occurred_at < ${end.toISOString()}::timestamptz
        ${branch === null ? sql`` : sql`and c.branch = ${branch}`}
    ),
    ep as (
      select case_id, max(episode) as episode from ev where type = 'case_opened' group by case_id
    ),
    cur as (
      select ev.* from ev join ep on ep.case_id = ev.case_id and ep.episode = ev.episode
    ),
    opened as (
      select distinct on (case_id) case_id, payload from cur where type = 'case_opened' order by case_id, seq
    ),
    hand as (
      select distinct on (case_id) case_id, (payload->>'hand')::int as hand
      from cur where type in ('hand_entered', 'hand_entered_late') order by case_id, seq desc
    ),
    stage as (
      select distinct on (case_id) case_id,
        case
          when type = 'case_paused' then 'paused'
          when type = 'case_recovered' then 'recovered'
          when type = 'case_written_off' then 'written_off'
          when type = 'measure_started' then 'restructured'
          else 'collecting'
        end as stage
      from cur
      where type in ('case_opened', 'case_paused', 'case_resumed', 'case_recovered', 'case_written_off')
        or (type in ('measure_started', 'measure_succeeded', 'measure_failed', 'measure_cancelled')
            and payload->>'type' in ('restructuring', 'extension'))
      order by case_id, seq desc
    ),
    paid as (
      select distinct on (case_id) case_id, payload from cur where type = 'payment_recorded' order by case_id, seq desc
    ),
    owed as (
      select distinct on (case_id) case_id,
        coalesce(payload->>'outstandingAfter', payload->'after'->>'outstanding')::bigint as outstanding,
        coalesce(payload->>'overdueAfter', payload->'after'->>'overdue')::bigint as overdue
      from cur
      where type in ('payment_recorded', 'arrears_reported', 'arrears_waived')
        or (type = 'legal_cost_recorded' and payload ? 'overdueAfter')
      order by case_id, seq desc
    ),
    officer as (
      select distinct on (case_id) case_id, payload->>'to' as officer_id
      from cur where type = 'officer_assigned' order by case_id, seq desc
    ),
    likelihood as (
      select distinct on (case_id) case_id, payload->>'likelihood' as likelihood
      from cur where type in ('case_classified', 'classification_overridden') order by case_id, seq desc
    ),
    tier as (
      select distinct on (case_id) case_id, payload->>'tier' as tier
      from cur where type = 'case_classified' order by case_id, seq desc
    ),
    ended as (
      select distinct on (case_id) case_id,
        case when type = 'case_written_off' then 'written_off' else payload->>'outcome' end as outcome
      from cur where type in ('case_recovered', 'case_written_off') order by case_id, seq desc
    )
    select c.case_id, c.branch, c.currency,
      coalesce(h.hand, 1) as hand,
      coalesce(s.stage, 'collecting') as stage,
      case when a.case_id is not null then a.officer_id else o.payload->>'officerId' end as officer_id,
      coalesce(w.outstanding, (o.payload->>'outstanding')::bigint, 0)::text as outstanding,
      coalesce(w.overdue, (o.payload->>'overdue')::bigint, 0)::text as overdue,
      coalesce((p.payload->>'recoveredAfter')::bigint, 0)::text as recovered,
      l.likelihood, t.tier, x.outcome
    from opened o
    join cases c on c.case_id = o.case_id
    left join hand h on h.case_id = o.case_id
    left join stage s on s.case_id = o.case_id
    left join paid p on p.case_id = o.case_id
    left join owed w on w.case_id = o.case_id
    left join officer a on a.case_id = o.case_id
    left join likelihood l on l.case_id = o.case_id
    left join tier t on t.case_id = o.case_id
    left join ended x on x.case_id = o.case_id
    order by c.case_id
  `);
  return (result.rows as Record<string, unknown>[]).map((r) => ({
    caseId: String(r.case_id),
    branch: String(r.branch),
    currency: String(r.currency),
    hand: Number(r.hand) as Hand,
    stage: String(r.stage) as CaseStage,
    officerId: r.officer_id === null || r.officer_id === undefined ? null : String(r.officer_id),
    likelihood: (r.likelihood ?? null) as Likelihood | null,
    tier: (r.tier ?? null) as string | null,
    outcome: (r.outcome ?? null) as CaseOutcome | null,
    outstanding: Number(r.outstanding),
    overdue: Number(r.overdue),
    recovered: Number(r.recovered),
  }));
}

/** `promise_kept` / `promise_broken` events of the branch's cases before `end`. */
async function promiseCounts(db: Database, end: Date, branch: string | null): Promise<{ kept: number; broken: number }> {
  const result = await db.execute(sql`
    select count(*) filter (where e.type = 'promise_kept')::int as kept,
           count(*) filter (where e.type = 'promise_broken')::int as broken
    from case_events e join cases c on c.case_id = e.case_id
    where e.type in ('promise_kept', 'promise_broken')
      and e.occurred_at < ${end.toISOString()}::timestamptz
      ${branch === null ? sql`` : sql`and c.branch = ${branch}`}
  `);
  const row = (result.rows as { kept: number; broken: number }[])[0] ?? { kept: 0, broken: 0 };
  return { kept: Number(row.kept), broken: Number(row.broken) };
}

type Figures = { currency: string; cases: number; outstanding: number; overdue: number; recovered: number };

function compare(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** Figures per (key, currency), ordered by key then currency. */
function groupBy<K extends string | number | null>(states: CaseState[], keyOf: (s: CaseState) => K): { key: K; figures: Figures }[] {
  const groups = new Map<string, { key: K; figures: Figures }>();
  for (const s of states) {
    const key = keyOf(s);
    const id = JSON.stringify([key, s.currency]);
    const group = groups.get(id) ?? { key, figures: { currency: s.currency, cases: 0, outstanding: 0, overdue: 0, recovered: 0 } };
    group.figures.cases++;
    group.figures.outstanding += s.outstanding;
    group.figures.overdue += s.overdue;
    group.figures.recovered += s.recovered;
    groups.set(id, group);
  }
  return [...groups.values()].sort((a, b) => compare(a.key, b.key) || compare(a.figures.currency, b.figures.currency));
}

export function portfolioOf(asOf: string, branch: string | null, states: CaseState[], promises: { kept: number; broken: number }): PortfolioView {
  const totals: PortfolioTotals[] = groupBy(states, () => null).map(({ figures }) => ({
    ...figures,
    recoveryRate: figures.recovered + figures.overdue === 0 ? null : figures.recovered / (figures.recovered + figures.overdue),
  }));
  return {
    asOf,
    branch,
    totals,
    byStage: groupBy(states, (s) => s.stage).map(({ key, figures }) => ({ stage: key, ...figures })),
    byHand: groupBy(states, (s) => s.hand).map(({ key, figures }) => ({ hand: key, ...figures })),
    byBranch: groupBy(states, (s) => s.branch).map(({ key, figures }) => ({ branch: key, ...figures })),
    byOfficer: groupBy(states, (s) => s.officerId).map(({ key, figures }) => ({ officerId: key, ...figures })),
    byLikelihood: groupBy(states, (s) => s.likelihood).map(({ key, figures }) => ({ likelihood: key, ...figures })),
    byTier: groupBy(states, (s) => s.tier).map(({ key, figures }) => ({ tier: key, ...figures })),
    byOutcome: groupBy(states, (s) => s.outcome).map(({ key, figures }) => ({ outcome: key, ...figures })),
    promises: {
      kept: promises.kept,
      broken: promises.broken,
      keptRate: promises.kept + promises.broken === 0 ? null : promises.kept / (promises.kept + promises.broken),
    },
  };
}

function isClosed(s: CaseState): boolean {
  return CLOSED_STAGES.includes(s.stage);
}

export function rollRatesOf(from: string, to: string, branch: string | null, before: CaseState[], after: CaseState[]): RollRatesView {
  const later = new Map(after.map((s) => [s.caseId, s]));
  const cells = new Map<string, RollCell>();
  const rows = new Map<Hand, RollRatesView['rows'][number]>();
  for (const s of before) {
    if (isClosed(s)) continue;
    const t = later.get(s.caseId) ?? s;
    const target: RollTarget = t.stage === 'recovered' ? 'recovered' : t.stage === 'written_off' ? 'written_off' : (String(t.hand) as RollTarget);
    const id = JSON.stringify([s.hand, target, s.currency]);
    const cell = cells.get(id) ?? { fromHand: s.hand, to: target, currency: s.currency, cases: 0, outstanding: 0, overdue: 0 };
    cell.cases++;
    cell.outstanding += s.outstanding;
    cell.overdue += s.overdue;
    cells.set(id, cell);
    const row = rows.get(s.hand) ?? { fromHand: s.hand, cases: 0, rolledForward: 0, stayed: 0, closed: 0 };
    row.cases++;
    if (isClosed(t)) row.closed++;
    else if (t.hand > s.hand) row.rolledForward++;
    else row.stayed++;
    rows.set(s.hand, row);
  }
  const order = (c: RollCell) => ROLL_TARGETS.indexOf(c.to);
  return {
    from,
    to,
    branch,
    cells: [...cells.values()].sort((a, b) => a.fromHand - b.fromHand || order(a) - order(b) || compare(a.currency, b.currency)),
    rows: [...rows.values()].sort((a, b) => a.fromHand - b.fromHand),
  };
}

/** The branch a report covers: the caller's own for officers and supervisors (403 for another). */
function reportBranch(caller: Caller, branch: string | undefined): string | null {
  const scope = branchScope(caller);
  if (scope !== null && branch !== undefined && branch !== scope) {
    throw forbidden(`A ${caller.role} of ${scope} sees only the cases of ${scope}`);
  }
  return scope ?? branch ?? null;
}

/** `GET /v1/reports/portfolio` and `GET /v1/reports/roll-rates`. */
const reports: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/portfolio',
    {
      preValidation: fastify.requireRole('report'),
      schema: {
        summary: 'The portfolio as of a date',
        description: PORTFOLIO_DESCRIPTION,
        tags: ['reports'],
        security: BEARER_SECURITY,
        querystring: PortfolioQuerySchema,
        response: { 200: described(PortfolioSchema, 'The portfolio as of the end of asOf'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { asOf } = request.query;
      const branch = reportBranch(caller, request.query.branch);
      const end = endOf(asOf);
      const [states, promises] = await Promise.all([caseStatesAsOf(fastify.db, end, branch), promiseCounts(fastify.db, end, branch)]);
      return portfolioOf(asOf, branch, states, promises);
    },
  );

  fastify.get(
    '/roll-rates',
    {
      preValidation: fastify.requireRole('report'),
      schema: {
        summary: 'Roll rates between two dates',
        description: ROLL_RATES_DESCRIPTION,
        tags: ['reports'],
        security: BEARER_SECURITY,
        querystring: RollRatesQuerySchema,
        response: { 200: described(RollRatesSchema, 'The roll-rate matrix from `from` to `to`'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { from, to } = request.query;
      if (to < from) throw badRequest([{ field: 'to', reason: 'must not be before from' }]);
      const branch = reportBranch(caller, request.query.branch);
      const [before, after] = await Promise.all([
        caseStatesAsOf(fastify.db, endOf(from), branch),
        caseStatesAsOf(fastify.db, endOf(to), branch),
      ]);
      return rollRatesOf(from, to, branch, before, after);
    },
  );
};

export default reports;
