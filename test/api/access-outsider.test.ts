/**
 * A branch outsider learns nothing of another branch's cases: every case-scoped route, sub-
 * resources included, answers it word for word as it answers for a case that does not exist.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../domain';
import { newLoan } from '../support/fixtures';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
const CORE: Who = ['system', 'core-banking'];
const SUPERVISOR_BR01: Who = ['supervisor', 'supervisor-wang', 'BR01'];
const OUTSIDERS: Who[] = [
  ['supervisor', 'supervisor-zhao', 'BR02'],
  ['officer', 'officer-sun', 'BR02'],
];

let h: CaseHarness;
let t: ApiTest;
let existing: string;
beforeAll(async () => {
  h = await startCaseHarness();
  t = await build({ harness: h });
  const res = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: newLoan({ branch: 'BR01' }) });
  expect(res.statusCode, res.body).toBe(201);
  existing = res.json().case.caseId;
});
afterAll(async () => {
  await t?.close();
  await h?.close();
});

const MEASURE = randomUUID();
/** Every case-scoped route, with a body it accepts: the answer comes from the handler, not from
 * validation (which would answer both cases alike for another reason). */
const ROUTES: [method: 'GET' | 'POST', path: string, payload?: object][] = [
  ['GET', ''],
  ['GET', '/events'],
  ['GET', '/refusals'],
  ['GET', '/history'],
  ['GET', '/audit/verify'],
  ['POST', '/notes', { summary: 'Visited the borrower' }],
  ['POST', '/contacts', { channel: 'phone', outcome: 'answered' }],
  ['POST', '/pause', { reason: 'dispute' }],
  ['POST', '/resume', {}],
  ['POST', '/assignment', { officerId: 'officer-sun' }],
  ['POST', '/measures', { type: 'field_visit', rationale: 'Borrower unreachable by phone', expectedRecovery: 1000 }],
  ['POST', '/measures', { type: 'field_visit', rationale: 'Covers', expectedRecovery: 1000, covers: ['case-OTHER-1'] }],
  ['POST', `/measures/${MEASURE}/decision`, { decision: 'approve', reason: 'Four eyes' }],
  ['POST', `/measures/${MEASURE}/progress`, { status: 'in_progress', note: 'Started' }],
  ['GET', `/measures/${MEASURE}/litigation`],
  ['POST', '/write-off', { reason: 'Uncollectable', amount: 1000 }],
];

/** The answer with the case id written as a placeholder: the id in the URL is the only difference allowed. */
function normalized(res: { statusCode: number; headers: Record<string, unknown>; body: string }, caseId: string) {
  return { status: res.statusCode, contentType: res.headers['content-type'], body: res.body.replaceAll(caseId, '{caseId}') };
}

describe('a branch outsider asking for a case', () => {
  for (const outsider of OUTSIDERS) {
    it.each(ROUTES)(`(${outsider[0]}) %s %s gets the same answer for an existing and a missing case`, async (method, path, payload) => {
      const missing = `case-MISSING-${randomUUID()}`;
      const ask = (caseId: string) => t.as(outsider, { method, url: `/v1/cases/${caseId}${path}`, ...(payload ? { payload } : {}) });
      const [forExisting, forMissing] = [await ask(existing), await ask(missing)];
      expect(normalized(forExisting, existing)).toEqual(normalized(forMissing, missing));
      // Never a 2xx, and a problem the central handler wrote.
      expect(forExisting.statusCode).toBeGreaterThanOrEqual(400);
      expectProblem(forExisting, forExisting.statusCode);
    });
  }

  it('answers 404 "No case …" on the reads, as for a missing case; the branch itself still reads it', async () => {
    const res = await t.as(OUTSIDERS[0]!, { url: `/v1/cases/${existing}` });
    expect(expectProblem(res, 404).detail).toBe(`No case ${existing}`);
    expect((await t.as(SUPERVISOR_BR01, { url: `/v1/cases/${existing}` })).statusCode).toBe(200);
  });
});
