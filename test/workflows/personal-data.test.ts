/**
 * Borrowers' personal data out of Temporal: intake keeps the parties in PostgreSQL and the case
 * carries a reference; every other payload is encrypted. A full case's raw history, read by a
 * client WITHOUT the codec, holds no name, ID number or phone in any payload. Cases opened by
 * earlier code (the parties in their input) keep working and drop the parties on continue-as-new.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { caseEvents, caseParties } from '../../db/schema';
import {
  caseStateQuery,
  msToDate,
  promiseToPayUpdate,
  recordContactUpdate,
  recordPaymentUpdate,
  workflowIdForLoan,
  type CaseOpening,
} from '../../domain';
import { ENCRYPTED_ENCODING, decodeWith } from '../../temporal/codec';
import { collectionCase } from '../../workflows';
import { OFFICER, SYSTEM, eventually, newLoan, open, testPolicy } from '../support/fixtures';
import { startCaseHarness, testDataConverter, type CaseHarness } from '../support/harness';
import { saveHistory } from '../support/histories';

type History = temporal.api.history.v1.IHistory;

let h: CaseHarness;
let plain: Client;
let connection: Connection;
beforeAll(async () => {
  h = await startCaseHarness();
  connection = await Connection.connect({ address: inject('temporalAddress') });
  // What `temporal workflow show` and the UI's input panel see without the codec.
  plain = new Client({ connection });
});
afterAll(async () => {
  await connection?.close();
  await h?.close();
});

const STANDARD_DAYS = [0, 15, 30, 60, 90, 120];

/** Every run of a workflow id, raw as Temporal stores them, oldest first. */
async function rawRuns(workflowId: string): Promise<{ runId: string; history: History }[]> {
  const runs: { runId: string; history: History; startedAt: number }[] = [];
  for await (const execution of plain.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    runs.push({ runId: execution.runId, history: await plain.workflow.getHandle(workflowId, execution.runId).fetchHistory(), startedAt: execution.startTime.getTime() });
  }
  return runs.sort((a, b) => a.startedAt - b.startedAt);
}

function payloadsOf(value: unknown, into: Payload[] = [], depth = 0): Payload[] {
  if (depth > 64 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return into;
  if (Array.isArray(value)) {
    for (const item of value) payloadsOf(item, into, depth + 1);
    return into;
  }
  const candidate = value as Payload;
  if (candidate.data instanceof Uint8Array && typeof candidate.metadata === 'object' && candidate.metadata !== null) {
    into.push(candidate);
    return into;
  }
  for (const item of Object.values(value)) payloadsOf(item, into, depth + 1);
  return into;
}

const utf8 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

describe('a full case in Temporal', () => {
  it('no payload of any run holds a name, ID number or phone; the parties are in case_parties only', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: STANDARD_DAYS });
    const loan = newLoan({ overdue: 100_000, outstanding: 900_000 });
    const secrets = [loan.borrower, ...loan.guarantors].flatMap((p) => [p.name, p.idNumber, p.phone]);
    const { case: opened } = await open(h.client, h.taskQueue, loan, policy, { continueAsNewAfterEvents: 20 });
    const handle = h.client.workflow.getHandle(opened.caseId);
    const firstRunId = (await handle.describe()).runId;
    // A message that meets the case mid continue-as-new is sent again, the same (its request id
    // and reference make a second delivery a no-op).
    const retried = (call: () => Promise<unknown>) => eventually(async () => call().then(() => true));

    const tomorrow = msToDate(Date.parse(`${opened.caseDate}T00:00:00Z`) + 86_400_000);
    const contact = { requestId: randomUUID(), by: OFFICER, channel: 'phone' as const, outcome: 'promise_to_pay' as const, note: 'will pay' };
    await retried(() => handle.executeUpdate(recordContactUpdate, { args: [contact] }));
    const promise = { requestId: randomUUID(), by: OFFICER, amount: 40_000, dueDate: tomorrow };
    await retried(() => handle.executeUpdate(promiseToPayUpdate, { args: [promise] }));
    // The payments go to the next run: a case continues as new once the messages pause.
    await eventually(async () => ((await handle.describe()).runId !== firstRunId ? true : undefined));
    for (const [amount, reference] of [[40_000, 'PD-1'], [30_000, 'PD-2'], [30_000, 'PD-3']] as const) {
      const payment = { requestId: randomUUID(), by: OFFICER, amount, reference, paidAt: new Date().toISOString() };
      await retried(() => handle.executeUpdate(recordPaymentUpdate, { args: [payment] }));
    }
    await eventually(async () => ((await plain.workflow.getHandle(opened.caseId).describe()).status.name === 'COMPLETED' ? true : undefined));

    const runs = await rawRuns(opened.caseId);
    expect(runs.length).toBeGreaterThanOrEqual(2); // continue-as-new carried the state through
    let scanned = 0;
    for (const { history } of runs) {
      for (const payload of payloadsOf(history)) {
        const bytes = [utf8(payload.data), ...Object.values(payload.metadata ?? {}).map(utf8)].join('\n');
        for (const secret of secrets) expect(bytes, `a payload of ${opened.caseId}`).not.toContain(secret);
        const encoding = utf8(payload.metadata?.encoding);
        // Search attributes are Temporal's index, never encoded: they carry no personal data.
        if (encoding !== ENCRYPTED_ENCODING) expect(encoding).toBe('json/plain');
        scanned++;
      }
      const whole = historyToJSON(history);
      for (const secret of secrets) expect(whole).not.toContain(secret);
    }
    expect(scanned).toBeGreaterThan(20);
    // Inputs, updates, activity arguments and results are ciphertext.
    const start = runs[0]!.history.events![0]!.workflowExecutionStartedEventAttributes!;
    expect(utf8(start.input!.payloads![0]!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);

    // Decrypted, the opening carries a reference and the guarantors' positions, no person.
    const [input] = await decodeWith(testDataConverter().payloadCodecs!, [start.input!.payloads![0]! as Payload]);
    const { opening } = defaultPayloadConverter.fromPayload(input!) as { opening: CaseOpening };
    expect(opening.loan.borrower).toBeUndefined();
    expect(opening.loan.partiesRef).toBe(`case_parties:${opened.caseId}`);
    expect(opening.loan.guarantors).toEqual([{}]);

    // The business trail never holds them either.
    const trail = JSON.stringify(await h.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.caseId)));
    for (const secret of secrets) expect(trail).not.toContain(secret);

    await saveHistory('v5-parties-out-first-run', runs[0]!.history);
    await saveHistory('v5-parties-out-last-run', runs.at(-1)!.history);
  });

  it('a retried intake writes the parties once, and a new list of guarantors replaces the old', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: STANDARD_DAYS });
    const loan = newLoan({
      guarantors: [
        { name: 'Li Na', idNumber: '110101198805051111', phone: '+8613900139000' },
        { name: 'Wang Fang', idNumber: '110101198505052222', phone: '+8613900139001' },
      ],
    });
    const requestId = randomUUID();
    const first = await open(h.client, h.taskQueue, loan, policy, { requestId });
    const again = await open(h.client, h.taskQueue, loan, policy, { requestId });
    // Temporal answers the retried update as it answered the first.
    expect(again).toMatchObject({ created: true, case: { caseId: first.case.caseId } });
    const rows = () => h.db.select().from(caseParties).where(eq(caseParties.caseId, first.case.caseId));
    expect(await rows()).toHaveLength(3);
    await open(h.client, h.taskQueue, { ...loan, guarantors: [loan.guarantors[1]!] }, policy);
    expect((await rows()).map((r) => [r.role, r.position, r.name]).sort()).toEqual([
      ['borrower', 0, 'Zhang Wei'],
      ['guarantor', 0, 'Wang Fang'],
    ]);
  });
});

describe('a case opened by earlier code', () => {
  it('still hands its parties to the ledger, runs, and continues as new without them', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: STANDARD_DAYS });
    const loan = newLoan();
    const caseId = workflowIdForLoan(loan.loanId);
    // The opening as intake made it before: the whole loan, its borrower and guarantors included.
    const opening: CaseOpening = { requestId: randomUUID(), by: SYSTEM, loan, policy, episode: 1, continueAsNewAfterEvents: 14 };
    await h.client.workflow.start(collectionCase, { workflowId: caseId, taskQueue: h.taskQueue, args: [{ opening }] });
    const parties = await eventually(async () => {
      const rows = await h.db.select().from(caseParties).where(eq(caseParties.caseId, caseId));
      return rows.length === 2 ? rows : undefined;
    });
    expect(parties.find((p) => p.role === 'borrower')).toMatchObject({ name: loan.borrower.name, idNumber: loan.borrower.idNumber });

    const handle = h.client.workflow.getHandle(caseId);
    for (let i = 0; i < 3; i++) {
      await handle.executeUpdate(recordContactUpdate, { args: [{ requestId: randomUUID(), by: OFFICER, channel: 'phone', outcome: 'no_answer' }] });
    }
    const runs = await eventually(async () => {
      const all = await rawRuns(caseId);
      return all.length >= 2 ? all : undefined;
    });
    const second = runs[1]!.history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]! as Payload;
    const [decoded] = await decodeWith(testDataConverter().payloadCodecs!, [second]);
    const { continued } = defaultPayloadConverter.fromPayload(decoded!) as { continued: { loan: CaseOpening['loan'] } };
    expect(continued.loan.borrower).toBeUndefined();
    expect(continued.loan.guarantors).toEqual([{}]);
    expect(JSON.stringify(continued)).not.toContain(loan.borrower.idNumber);
    expect((await handle.query(caseStateQuery)).stage).toBe('collecting');

    await saveHistory('v5-earlier-opening-drops-parties', runs[0]!.history);
  });
});
