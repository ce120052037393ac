/**
 * The collection console end to end: headless Chromium against the real service (buildApp and a
 * real worker on the run's Temporal server and PostgreSQL) listening on a port. Officers and
 * supervisors of a branch of the test's own sign in and work as they would; every page is
 * photographed into test/console/screenshots (gitignored).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../api/app';
import { signToken, type TokenClaims } from '../../api/auth/tokens';
import { parseBranchTimeZones } from '../../api/plugins/app/console';
import { loadConfig, type Config } from '../../config';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { createLogger } from '../../logger';
import { PROJECT_ROOT } from '../../tools/project-paths';
import { eventually, newLoan, testPolicy } from '../support/fixtures';
import { startCaseHarness, type CaseHarness } from '../support/harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(PROJECT_ROOT, 'test', 'console', 'screenshots');
const TEMPORAL_UI = 'http://temporal-ui.test:8233';
// A branch of this file's own: the shared database holds other files' BR01 cases and officers.
const suffix = randomUUID().slice(0, 6).toUpperCase();
const BRANCH = `E2E${suffix}`;
const OTHER_BRANCH = `E2X${suffix}`;
const OFFICER_A = `off-a-${suffix}`;
const OFFICER_B = `off-b-${suffix}`;
const OFFICER_C = `off-c-${suffix}`;
const SUPERVISOR = `sup-${suffix}`;

let h: CaseHarness;
let app: FastifyInstance;
let config: Config;
let base: string;
let browser: Browser;
const cases: Record<'mine' | 'second' | 'others' | 'elsewhere', string> = { mine: '', second: '', others: '', elsewhere: '' };

function token(role: TokenClaims['role'], sub: string, branch?: string): string {
  return signToken(config.JWT_SECRET, { role, sub, ...(branch ? { branch } : {}) });
}

async function asApi(role: TokenClaims['role'], sub: string, branch: string | undefined, method: 'GET' | 'POST', url: string, payload?: object) {
  return app.inject({ method, url, payload, headers: { authorization: `Bearer ${token(role, sub, branch)}` } });
}

async function openCase(branch: string, officerId: string, policy: string): Promise<string> {
  const res = await asApi('system', 'core-banking', undefined, 'POST', '/v1/cases', { ...newLoan({ branch, officerId }), policy });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().case.caseId;
}

/** A page signed in by pasting a bearer token, as in production. */
async function signedIn(role: TokenClaims['role'], sub: string, branch: string): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1180, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`console page error: ${err.message}`));
  await page.goto(`${base}/app/#/signin`);
  await page.getByLabel('Bearer token').fill(token(role, sub, branch));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').getByText(sub).waitFor();
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  // From the current source and the current API document, never a build left from an earlier install.
  execFileSync('npm', ['run', '-s', 'console:build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  mkdirSync(SHOTS, { recursive: true });
  h = await startCaseHarness();
  config = {
    ...loadConfig({ DATABASE_URL: inject('databaseUrl'), TEMPORAL_ADDRESS: inject('temporalAddress'), LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    TEMPORAL_TASK_QUEUE: h.taskQueue,
  };
  app = await buildApp({
    config,
    db: h.db,
    temporal: h.client,
    logger: createLogger(config.LOG_LEVEL),
    console: { devTokens: true, temporalUiUrl: TEMPORAL_UI, branchTimeZones: { [BRANCH]: 'Asia/Shanghai' } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });

  for (const id of [OFFICER_A, OFFICER_B, OFFICER_C]) {
    const res = await asApi('admin', 'admin', undefined, 'POST', '/v1/officers', { id, branch: BRANCH, active: true, capacity: 100 });
    expect(res.statusCode, res.body).toBeLessThan(300);
  }
  // Hand 2 two case days (2 s) after opening, hand 3 far later: one escalation to find.
  const policy = await testPolicy(h.db, { dayMs: 1_000, entersAtDays: [0, 2, 300, 600, 900, 1200] });
  cases.mine = await openCase(BRANCH, OFFICER_A, policy.name);
  cases.second = await openCase(BRANCH, OFFICER_A, policy.name);
  cases.others = await openCase(BRANCH, OFFICER_B, policy.name);
  cases.elsewhere = await openCase(OTHER_BRANCH, `off-x-${suffix}`, policy.name);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await h?.close();
});

describe('the collection console', () => {
  it('typechecks against the client types generated from the API\'s OpenAPI document', () => {
    // The build above regenerated console/src/generated: a renamed or removed API field fails here.
    try {
      execFileSync('npx', ['tsc', '-p', 'console'], { cwd: PROJECT_ROOT, stdio: 'pipe', encoding: 'utf8' });
    } catch (err) {
      throw new Error(`tsc -p console failed:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
    }
  }, 60_000);

  it('offers the development identities under npm start and signs in with one', async () => {
    const page = await browser.newPage({ locale: 'en-US' });
    await page.goto(`${base}/app/`);
    await page.getByRole('heading', { name: 'Development identities' }).waitFor();
    await shot(page, '01-sign-in');
    await page.getByRole('button', { name: /supervisor alice · BR01/ }).click();
    await page.getByRole('heading', { name: 'Ledger (台账)' }).waitFor();
    expect(await page.getByTestId('who').textContent()).toContain('supervisor alice · branch BR01');
    await page.close();
  });

  it('lets an officer log a contact, see a refused promise beside its date, record a payment and see the ledger change', async () => {
    const page = await signedIn('officer', OFFICER_A, BRANCH);
    await page.getByRole('heading', { name: 'My worklist' }).waitFor();
    const row = page.locator(`tr[data-case="${cases.mine}"][data-kind="case"]`);
    await row.waitFor();
    // Only the officer's own cases are on their worklist.
    expect(await page.locator(`tr[data-case="${cases.others}"]`).count()).toBe(0);
    await shot(page, '02-worklist');
    await page.setViewportSize({ width: 768, height: 1024 });
    await shot(page, '02-worklist-tablet');
    await page.setViewportSize({ width: 1180, height: 900 });

    await row.getByRole('button', { name: 'Log a contact' }).click();
    const contact = page.getByRole('form', { name: `Log a contact — ${cases.mine}` });
    await contact.getByLabel('Channel').selectOption('phone');
    await contact.getByLabel('Outcome').selectOption('answered');
    await contact.getByLabel('Note').fill('Borrower answered; will pay part this week');
    await contact.getByRole('button', { name: 'Send' }).click();
    const decision = page.getByRole('status').filter({ hasText: cases.mine }).first();
    await decision.waitFor();
    expect(await decision.textContent()).toContain('The case answered');

    await row.getByRole('button', { name: 'Record a promise' }).click();
    const promise = page.getByRole('form', { name: `Record a promise — ${cases.mine}` });
    await promise.getByLabel(/^Amount/).fill('500.00');
    await promise.getByLabel('Due date (case calendar)').fill('2000-01-03');
    await promise.getByRole('button', { name: 'Send' }).click();
    // The API's 422 names dueDate: its reason is shown beside the date input, linked to it.
    const dateError = promise.locator('.field', { has: page.getByLabel('Due date (case calendar)') }).locator('.error');
    await dateError.waitFor();
    expect(await dateError.textContent()).toMatch(/dueDate is before the case's date/);
    expect(await promise.getByLabel('Due date (case calendar)').getAttribute('aria-invalid')).toBe('true');
    await shot(page, '03-refused-promise');
    await promise.getByRole('button', { name: 'Cancel' }).click();

    await row.getByRole('button', { name: 'Record a payment' }).click();
    const payment = page.getByRole('form', { name: `Record a payment — ${cases.mine}` });
    await payment.getByLabel(/^Amount/).fill('1,500.00');
    await payment.getByLabel('Payment reference').fill(`E2E-${suffix}-1`);
    await payment.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('status').filter({ hasText: 'recovered CN¥1,500.00' }).first().waitFor();

    await page.goto(`${base}/app/#/ledger`);
    const ledgerRow = page.locator(`tr[data-case="${cases.mine}"]`);
    await ledgerRow.waitFor();
    expect(await ledgerRow.locator('[data-col="recovered"]').textContent()).toBe('CN¥1,500.00');
    expect(await ledgerRow.locator('[data-col="overdue"]').textContent()).toBe('CN¥10,500.00');
    await shot(page, '04-ledger-officer');
    await page.context().close();
  }, 90_000);

  it('keeps an officer out of another branch\'s case', async () => {
    const page = await signedIn('officer', OFFICER_A, BRANCH);
    await page.goto(`${base}/app/#/cases/${cases.elsewhere}`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^No such case, or not within your branch/);
    expect(await page.getByTestId('case-header').count()).toBe(0);
    await shot(page, '05-other-branch');
    await page.context().close();
  });

  it('lets a supervisor approve a measure (never their own) and reassign cases in bulk', async () => {
    const proposed = await asApi('officer', OFFICER_A, BRANCH, 'POST', `/v1/cases/${cases.mine}/measures`, {
      type: 'field_visit',
      rationale: 'Visit the shop on a weekday',
      expectedRecovery: 300_000,
    });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const own = await asApi('supervisor', SUPERVISOR, BRANCH, 'POST', `/v1/cases/${cases.second}/measures`, {
      type: 'other',
      rationale: 'Call the employer',
      expectedRecovery: 100_000,
    });
    expect(own.statusCode, own.body).toBe(201);

    const page = await signedIn('supervisor', SUPERVISOR, BRANCH);
    await page.goto(`${base}/app/#/approvals`);
    const card = page.locator(`[data-measure="${proposed.json().measureId}"]`);
    const mine = page.locator(`[data-measure="${own.json().measureId}"]`);
    await card.waitFor();
    // Four eyes, as the UI shows it: no decision offered on one's own proposal.
    expect(await mine.textContent()).toContain('another supervisor must decide (four eyes)');
    expect(await mine.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await shot(page, '06-approvals');
    await card.getByLabel('Reason for the decision').fill('The shop is open on weekdays');
    await card.getByRole('button', { name: 'Approve' }).click();
    await page.getByText(`field visit on ${cases.mine}: approved`).waitFor();
    const kase = (await asApi('supervisor', SUPERVISOR, BRANCH, 'GET', `/v1/cases/${cases.mine}`)).json();
    expect(kase.measures.find((m: { measureId: string }) => m.measureId === proposed.json().measureId)).toMatchObject({
      state: 'approved',
      decision: { by: { sub: SUPERVISOR } },
    });

    await page.goto(`${base}/app/#/ledger`);
    await page.locator(`tr[data-case="${cases.second}"]`).waitFor();
    await page.getByLabel(`Select ${cases.second}`).check();
    await page.getByLabel(`Select ${cases.others}`).check();
    await page.getByLabel('Reassign to officer').fill(OFFICER_C);
    await page.getByRole('button', { name: 'Reassign 2 selected' }).click();
    const report = page.getByRole('table', { name: 'Result per case' });
    await report.waitFor();
    expect(await report.locator('tbody tr').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining(`${cases.second}assigned`), expect.stringContaining(`${cases.others}assigned`)]),
    );
    await eventually(async () =>
      (await page.locator(`tr[data-case="${cases.others}"] [data-col="officer"]`).textContent()) === OFFICER_C ? true : undefined,
    );
    await shot(page, '07-ledger-reassigned');

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const csv = await (await download).createReadStream();
    const chunks: Buffer[] = [];
    for await (const chunk of csv) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text).toContain(cases.mine);
    expect(text).not.toContain(cases.elsewhere);
    await page.context().close();
  }, 90_000);

  it('shows a case\'s timeline with an escalation, the rule that decided it, and a refused message', async () => {
    // The case climbs to hand 2 two case days (2 s) after opening. Its trail is waited for
    // through the API, so that a loaded machine slows the wait, not the page's check.
    await eventually(async () => {
      const trail = (await asApi('supervisor', SUPERVISOR, BRANCH, 'GET', `/v1/cases/${cases.mine}/events?limit=200`)).json();
      return trail.items.some((e: { type: string; payload: { hand?: number } }) => e.type === 'hand_entered' && e.payload.hand === 2) ? true : undefined;
    }, 60_000, 500);
    const page = await signedIn('supervisor', SUPERVISOR, BRANCH);
    await page.goto(`${base}/app/#/cases/${cases.mine}`);
    const escalation = page.locator('li[data-source="trail"]', { hasText: 'hand entered: hand 1 → hand 2' });
    await escalation.first().waitFor();
    await shot(page, '08-case');
    const text = await escalation.first().textContent();
    expect(text).toMatch(/rule: policy test-[0-9a-f]+ v\d+, hand 2 from day 2/);
    expect(text).toContain('why: days past due reached the entry day');
    const refusal = page.locator('li[data-source="refusal"]', { hasText: 'promise_date_not_ahead' });
    expect(await refusal.count()).toBeGreaterThan(0);
    expect(await refusal.first().textContent()).toContain(OFFICER_A);
    // The decoded Temporal history arrives after the trail: the update that opened the case, among others.
    await page.locator('li[data-source="temporal"]', { hasText: 'WorkflowExecutionUpdateAccepted' }).first().waitFor();
    expect(await page.getByRole('link', { name: 'Open in the Temporal UI' }).getAttribute('href')).toBe(
      `${TEMPORAL_UI}/namespaces/default/workflows/${cases.mine}`,
    );
    expect(await page.getByTestId('case-header').textContent()).toContain('masked');
    await page.context().close();
  }, 60_000);

  it('renders the portfolio\'s charts and roll-rate heat map, in Chinese too', async () => {
    const page = await signedIn('supervisor', SUPERVISOR, BRANCH);
    await page.goto(`${base}/app/#/portfolio`);
    for (const chart of ['chart-stage', 'chart-hand', 'chart-hand-amounts', 'chart-officer']) {
      await page.getByTestId(chart).locator('canvas').waitFor();
    }
    const byHand = await page.getByTestId('chart-hand').locator('canvas').getAttribute('aria-label');
    expect(byHand).toMatch(/Cases by hand\. hand 1: Cases \d+/);
    const box = await page.getByTestId('chart-stage').locator('canvas').boundingBox();
    expect(box?.height).toBeGreaterThan(50);
    // From today to today: every case of the branch stays in its hand, so the diagonal fills.
    await page.getByLabel('Roll rates from').fill(new Date().toISOString().slice(0, 10));
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByTestId('roll-rates').locator('td', { hasText: /^\d+ \(100%\)$/ }).first().waitFor();
    expect(await page.getByTestId('recovery-rate-CNY').textContent()).toMatch(/%$/);
    await shot(page, '09-portfolio');
    await page.getByLabel('Language').selectOption('zh');
    await page.getByRole('heading', { name: '资产组合' }).waitFor();
    expect(await page.getByTestId('chart-hand').locator('canvas').getAttribute('aria-label')).toContain('一手');
    await shot(page, '10-portfolio-zh');
    await page.emulateMedia({ media: 'print' });
    await shot(page, '11-portfolio-print');
    await page.context().close();
  }, 60_000);
});

describe('the console as a deployment serves it', () => {
  let database: DatabaseHandle;
  let deployment: FastifyInstance;
  beforeAll(async () => {
    // What npm run server builds: no console options, its settings from the environment.
    const settings = loadConfig({
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      LOG_LEVEL: 'silent',
      TEMPORAL_UI_URL: 'https://temporal.bank.example',
      BRANCH_TIME_ZONES: 'BR01=Asia/Shanghai, BR09=Asia/Hong_Kong',
    });
    database = createDatabase(settings.DATABASE_URL, 1);
    const temporal = new Client({ connection: Connection.lazy({ address: settings.TEMPORAL_ADDRESS }) });
    deployment = await buildApp({ config: settings, db: database.db, temporal, logger: createLogger('silent') });
  });
  afterAll(async () => {
    await deployment?.close();
    await database?.close();
  });

  it('offers no development tokens, and takes its settings from the environment', async () => {
    const tokens = await deployment.inject({ url: '/app/dev-tokens' });
    expect(tokens.statusCode).toBe(404);
    expect(tokens.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(tokens.body).not.toMatch(/eyJ/);
    expect((await deployment.inject({ url: '/app/config.json' })).json()).toEqual({
      devTokens: false,
      temporalUiUrl: 'https://temporal.bank.example',
      namespace: 'default',
      defaultTimeZone: 'Asia/Shanghai',
      branchTimeZones: { BR01: 'Asia/Shanghai', BR09: 'Asia/Hong_Kong' },
    });
  });

  it('serves the page at /app and /app/, and its hashed assets for a year', async () => {
    for (const url of ['/app', '/app/']) {
      const page = await deployment.inject({ url });
      expect(page.statusCode).toBe(200);
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.body).toMatch(/<div id="root">/);
    }
    const script = /src="(\/app\/assets\/[^"]+\.js)"/.exec((await deployment.inject({ url: '/app/' })).body)?.[1];
    const asset = await deployment.inject({ url: script! });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await deployment.inject({ url: '/app/no-such-file.js' })).statusCode).toBe(404);
  });

  it('refuses a branch time zone that is not an IANA zone, naming the variable', () => {
    expect(() => parseBranchTimeZones('BR01=Mars/Olympus')).toThrow(/BRANCH_TIME_ZONES: "Mars\/Olympus" is not an IANA time zone/);
    expect(() => parseBranchTimeZones('BR01')).toThrow(/BRANCH=Zone\/Name/);
  });
});
