/**
 * The daily intake's Temporal Schedule on the real server: created idempotently, triggered by
 * hand, it takes in the CSV lists of its folder through the same code as the endpoint, keeps the
 * run's report and moves each file aside so that no file is taken twice.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { DEVELOPMENT_HOUSEHOLD_KEY } from '../../config';
import { createLogger } from '../../logger';
import { ensureIntakeSchedule, intakeScheduleId } from '../../temporal/intake-schedule';
import { createCaseWorker, type CaseWorkers } from '../../worker';
import { daysAgo, eventually, newLoan } from '../support/fixtures';
import { startCaseHarness, testDataConverter, workflowBundle, type CaseHarness } from '../support/harness';
import { build, type ApiTest } from './helper';

let h: CaseHarness;
let t: ApiTest;
let folder: string;
let connection: NativeConnection;
let worker: CaseWorkers;
let running: Promise<void>;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'intake-'));
  // No harness worker: this file's worker carries the intake settings (its folder).
  h = await startCaseHarness({ worker: false });
  t = await build({ harness: h });
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await createCaseWorker({
    connection,
    namespace: 'default',
    taskQueue: h.taskQueue,
    db: h.db,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    sweepIntervalMs: 0,
    workflowBundle: await workflowBundle(),
    shutdownGraceTime: 0,
    dataConverter: testDataConverter(),
    intake: { directory: folder, householdKey: DEVELOPMENT_HOUSEHOLD_KEY, concurrency: 4 },
  });
  running = worker.run();
});
afterAll(async () => {
  await h?.client.schedule.getHandle(intakeScheduleId(h.taskQueue)).delete().catch(() => undefined);
  worker?.shutdown();
  await running;
  await connection?.close();
  await t?.close();
  await h?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('the daily intake schedule', () => {
  it('is created once, and a triggered run takes in the folder\'s CSV, keeps its report and moves the file aside', async () => {
    const settings = { taskQueue: h.taskQueue, cron: '30 6 * * *', timezone: 'UTC' };
    expect(await ensureIntakeSchedule(h.client, settings)).toBe(true);
    expect(await ensureIntakeSchedule(h.client, settings)).toBe(false); // every boot: no second schedule
    const schedule = h.client.schedule.getHandle(intakeScheduleId(h.taskQueue));
    expect(await schedule.describe()).toMatchObject({ action: { type: 'startWorkflow', workflowType: 'dailyIntake', taskQueue: h.taskQueue }, state: { paused: false } });

    const fresh = newLoan({ overdueSince: daysAgo(2) });
    const lines = [
      'loanId,borrowerName,borrowerIdNumber,borrowerPhone,branch,product,secured,currency,principal,outstanding,overdueAmount,overdueSince,officerId',
      [fresh.loanId, fresh.borrower.name, fresh.borrower.idNumber, fresh.borrower.phone, 'BR01', 'consumer', 'false', 'CNY', '5000000', '3000000', '120000', fresh.overdueSince, 'officer-li'].join(','),
      [`${fresh.loanId}X`, 'Wang Fang', '110101199001011234', '+8613800138001', 'BR01', 'consumer', 'maybe', 'CNY', '5000000', '3000000', '120000', daysAgo(1), ''].join(','),
    ];
    const file = `overdue-${daysAgo(0)}.csv`;
    await writeFile(join(folder, file), lines.join('\n'));

    await schedule.trigger();
    const run = await eventually(async () => {
      const res = await t.as(['admin', 'admin-1'], { url: '/v1/intake/runs?limit=200' });
      const item = (res.json().items as { runId: string; file: string | null; finishedAt: string | null }[]).find((r) => r.file === file);
      return item?.finishedAt ? item : undefined;
    }, 45_000, 250);
    expect(run).toMatchObject({ source: 'schedule', actor: { sub: 'intake-schedule', role: 'system' }, counts: { rows: 2, created: 1, rejected: 1 } });

    const report = (await t.as(['admin', 'admin-1'], { url: `/v1/intake/runs/${run.runId}` })).json();
    expect(report.results).toEqual([
      { row: 1, loanId: fresh.loanId, caseId: `case-${fresh.loanId}`, outcome: 'created', errors: [] },
      { row: 2, loanId: `${fresh.loanId}X`, caseId: null, outcome: 'rejected', errors: [{ field: 'secured', reason: expect.any(String) }] },
    ]);
    // The row answered once Temporal accepted the case; the ledger shows it once the case has run.
    await eventually(async () => {
      const opened = await t.as(['admin', 'admin-1'], { url: `/v1/cases/case-${fresh.loanId}` });
      expect(opened.json()).toMatchObject({ overdue: 120_000, outstanding: 3_000_000, branch: 'BR01' });
      return true;
    });

    // Taken once: the file is no longer waiting, and the next run finds nothing to take.
    await eventually(async () => (existsSync(join(folder, 'processed', file)) ? true : undefined));
    expect(await readdir(folder)).toEqual(['processed']);
    const [action] = (await schedule.describe()).info.recentActions;
    const workflow = h.client.workflow.getHandle(action!.action.workflow.workflowId);
    expect(await workflow.result()).toEqual([expect.objectContaining({ runId: run.runId, file })]);
  });
});
