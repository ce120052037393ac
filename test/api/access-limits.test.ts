/**
 * The API's abuse limits: requests per token subject (per address when anonymous), answered 429
 * problem+json with Retry-After; security headers that keep the swagger UI working; CORS only for
 * the configured origins; a body size limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, expectProblem, type ApiTest } from './helper';

const ALLOWED_ORIGIN = 'https://collections.bank.example';
const MAX = 5;

let t: ApiTest;
beforeAll(async () => {
  t = await build({
    env: { RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW_MS: '60000', CORS_ORIGINS: `${ALLOWED_ORIGIN}, https://other.bank.example`, BODY_LIMIT_BYTES: '2048' },
  });
});
afterAll(async () => {
  await t?.close();
});

describe('rate limits', () => {
  it('answers a burst beyond the limit 429 problem+json with Retry-After, per token subject', async () => {
    const burst = ['admin', 'admin-burst'] as const;
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < MAX + 2; i++) {
      last = await t.as([...burst], { url: '/v1/cases?limit=1' });
      statuses.push(last.statusCode);
    }
    expect(statuses).toEqual([...Array(MAX).fill(200), 429, 429]);
    const problem = expectProblem(last!, 429);
    expect(problem.detail).toMatch(/Too many requests/);
    const retryAfter = Number(last!.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);

    // Another subject, from the same address, has its own allowance.
    expect((await t.as(['admin', 'admin-calm'], { url: '/v1/cases?limit=1' })).statusCode).toBe(200);
  });

  it('counts anonymous requests per address', async () => {
    const from = (remoteAddress: string) => t.app.inject({ url: '/docs/json', remoteAddress });
    for (let i = 0; i < MAX; i++) expect((await from('192.0.2.10')).statusCode).toBe(200);
    const limited = await from('192.0.2.10');
    expectProblem(limited, 429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await from('192.0.2.11')).statusCode).toBe(200);
  });
});

describe('CORS', () => {
  it('allows a configured origin, preflight and request', async () => {
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/cases',
      remoteAddress: '198.51.100.1',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/authorization/);
    const res = await t.as(['admin', 'admin-cors'], { url: '/v1/cases?limit=1', headers: { origin: ALLOWED_ORIGIN } });
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
  });

  it('gives another origin no CORS headers, so the browser keeps the answer from its page', async () => {
    const evil = 'https://evil.example';
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/cases',
      remoteAddress: '198.51.100.2',
      headers: { origin: evil, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const res = await t.as(['admin', 'admin-cors-2'], { url: '/v1/cases?limit=1', headers: { origin: evil } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('security headers and body size', () => {
  it('sends helmet\'s headers, and the swagger UI still loads its own scripts under its CSP', async () => {
    const page = await t.app.inject({ url: '/docs/', remoteAddress: '198.51.100.3' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['strict-transport-security']).toMatch(/max-age=/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toMatch(/upgrade-insecure-requests/);
    // Every script the page loads is its own (script-src 'self'), and each answers.
    const scripts = [...page.body.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src).not.toMatch(/^(https?:)?\/\//);
      const script = await t.app.inject({ url: new URL(src, 'http://x/docs/').pathname, remoteAddress: '198.51.100.3' });
      expect(script.statusCode, src).toBe(200);
    }
    expect(page.body).not.toMatch(/<script>(?!\s*<\/script>)/);
    const api = await t.as(['admin', 'admin-headers'], { url: '/v1/cases?limit=1' });
    expect(api.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers a body beyond BODY_LIMIT_BYTES 413 problem+json', async () => {
    const res = await t.as(['system', 'core-banking'], {
      method: 'POST',
      url: '/v1/cases',
      payload: { padding: 'x'.repeat(4096) },
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 413);
  });
});
