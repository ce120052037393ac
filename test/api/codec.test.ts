/**
 * The codec endpoint (api/routes/codec.ts): the Temporal codec-server protocol, decrypting for
 * supervisors and admins only, CORS for the configured Temporal UI origin.
 */
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ENCRYPTED_ENCODING, encodeWith, payloadToJson, type JsonPayload } from '../../temporal/codec';
import { findTemporalCli } from '../../tools/temporal-cli';
import { newLoan, open, testPolicy } from '../support/fixtures';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { build, expectProblem, type ApiTest } from './helper';

let t: ApiTest;
beforeAll(async () => {
  t = await build();
});
afterAll(async () => {
  await t?.close();
});

const UI = 'http://127.0.0.1:8233';
const BORROWER = { name: 'Zhang Wei', idNumber: '110101199003071234', phone: '+8613800138000' };

/** A payload as Temporal stores it: encrypted by the service's own client. */
async function sealed(value: unknown): Promise<JsonPayload> {
  const [payload] = await encodeWith(t.client.options.loadedDataConverter.payloadCodecs, [defaultPayloadConverter.toPayload(value)]);
  return payloadToJson(payload!);
}

const decode = (payloads: JsonPayload[], headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/codec/decode', payload: { payloads }, headers: { origin: UI, 'x-namespace': 'default', ...headers } });

describe('POST /codec/decode', () => {
  it('decrypts for a supervisor, and leaves a payload from before encryption as it is', async () => {
    const plain = payloadToJson(defaultPayloadConverter.toPayload({ loanId: 'LN1' }));
    const res = await decode([await sealed(BORROWER), plain], { authorization: t.auth('supervisor', 'supervisor-wang', 'BR01') });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(UI);
    const [first, second] = res.json().payloads as JsonPayload[];
    expect(Buffer.from(first!.metadata!.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(first!.data!, 'base64').toString())).toEqual(BORROWER);
    expect(second).toEqual(plain);
  });

  it('refuses an officer (403) and a caller without a token (401), with CORS headers the UI can read', async () => {
    const payload = await sealed(BORROWER);
    const officer = await decode([payload], { authorization: t.auth('officer', 'officer-li', 'BR01') });
    expectProblem(officer, 403);
    expect(officer.headers['access-control-allow-origin']).toBe(UI);
    expect(officer.body).not.toContain(BORROWER.idNumber);
    expectProblem(await decode([payload]), 401);
    const admin = await decode([payload], { authorization: t.auth('admin', 'admin-1') });
    expect(admin.statusCode).toBe(200);
  });

  it('names the field of a malformed request', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/codec/decode',
      payload: { payloads: [{ data: 'not base64!' }] },
      headers: { authorization: t.auth('admin', 'admin-1') },
    });
    expectProblem(res, 400, ['payloads.0.data']);
  });
});

describe('POST /codec/encode', () => {
  it('encrypts for a supervisor; decoding gives the value back', async () => {
    const authorization = t.auth('supervisor', 'supervisor-wang', 'BR01');
    const plain = payloadToJson(defaultPayloadConverter.toPayload({ note: 'from the UI' }));
    const res = await t.app.inject({ method: 'POST', url: '/codec/encode', payload: { payloads: [plain] }, headers: { authorization } });
    expect(res.statusCode, res.body).toBe(200);
    const [encoded] = res.json().payloads as JsonPayload[];
    expect(Buffer.from(encoded!.metadata!.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    const back = await decode([encoded!], { authorization });
    expect(back.json().payloads).toEqual([plain]);
    expectProblem(await t.app.inject({ method: 'POST', url: '/codec/encode', payload: { payloads: [plain] }, headers: { authorization: t.auth('officer', 'officer-li', 'BR01') } }), 403);
  });
});

describe('CORS preflight', () => {
  it('allows the configured Temporal UI origin to send the Authorization header', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/codec/decode',
      headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(UI);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
  });

  it('gives another origin no access', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/codec/decode',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-headers']).toBeUndefined();
  });
});

describe('the Temporal CLI through the codec endpoint', () => {
  let h: CaseHarness;
  let api: ApiTest;
  let url: string;
  beforeAll(async () => {
    h = await startCaseHarness();
    api = await build({ harness: h });
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}/codec`;
  });
  afterAll(async () => {
    await api?.close();
    await h?.close();
  });

  /** The CLI, run without blocking this process: it calls the API this process serves. */
  const cli = (args: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile(findTemporalCli()!, ['workflow', 'show', '--address', inject('temporalAddress'), '--detailed', ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ status: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const show = (caseId: string, extra: string[]) => cli(['-w', caseId, '--codec-endpoint', url, ...extra]);

  it.skipIf(!findTemporalCli())('shows a supervisor the decoded input, and nobody else', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan(), policy);
    const supervisor = await show(opened.caseId, ['--codec-auth', api.auth('supervisor', 'supervisor-wang', 'BR01')]);
    expect(supervisor.status, supervisor.stderr).toBe(0);
    expect(supervisor.stdout).toContain(opened.loanId);
    expect(supervisor.stdout).toContain('case_parties:');

    const officer = await show(opened.caseId, ['--codec-auth', api.auth('officer', 'officer-li', 'BR01')]);
    expect(`${officer.stdout}${officer.stderr}`).not.toContain('case_parties:');
    const nobody = await cli(['-w', opened.caseId]);
    expect(nobody.stdout).not.toContain('case_parties:');
    expect(nobody.stdout).toContain('encryption-key-id');
  });
});
