/**
 * Bearer token checks: required claims (exp, iat, sub, role), issuer, audience, algorithm, expiry
 * and maximum age; then the bank's identity provider: RS256/ES256 keys from a JWKS served by a
 * local HTTP server, keys rotated, roles and branch from configured claims with mapped values.
 */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_FETCHES_PER_WINDOW } from '../../api/plugins/external/rate-limit';
import { tokenFromArgs } from '../../scripts/token';
import { build, expectProblem, type ApiTest } from './helper';

const ISSUER = 'https://idp.bank.example/realms/collections';
const AUDIENCE = 'collection-cases';
const MAX_AGE_S = 3600;
const now = () => Math.floor(Date.now() / 1000);

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('tokens signed with JWT_SECRET', () => {
  let t: ApiTest;
  beforeAll(async () => {
    t = await build({ env: { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, JWT_MAX_AGE_SECONDS: String(MAX_AGE_S) } });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Exactly these claims, nothing added (a signer would add iat). */
  const sign = (claims: Record<string, unknown>, algorithm: 'HS256' | 'HS512' = 'HS256') => {
    const input = `${b64url({ alg: algorithm, typ: 'JWT' })}.${b64url(claims)}`;
    return `${input}.${createHmac(algorithm === 'HS256' ? 'sha256' : 'sha512', t.config.JWT_SECRET).update(input).digest('base64url')}`;
  };
  const good = () => ({ sub: 'admin-1', role: 'admin', iss: ISSUER, aud: AUDIENCE, iat: now() - 10, exp: now() + 600 });
  const call = (token: string) => t.app.inject({ url: '/v1/cases?limit=1', headers: { authorization: `Bearer ${token}` } });
  const without = (claim: string) => Object.fromEntries(Object.entries(good()).filter(([key]) => key !== claim));

  it('accepts a token with every required claim, and the helper\'s and the script\'s tokens', async () => {
    expect((await call(sign(good()))).statusCode).toBe(200);
    expect((await t.as(['supervisor', 'sup-1', 'BR01'], { url: '/v1/cases?limit=1' })).statusCode).toBe(200);
    const scripted = tokenFromArgs(['supervisor', 'sup-1', 'BR01'], { JWT_SECRET: t.config.JWT_SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
    expect((await call(scripted)).statusCode).toBe(200);
  });

  it.each([
    ['no exp', () => without('exp'), /exp/],
    ['no iat', () => without('iat'), /iat/],
    ['no sub', () => without('sub'), /sub/],
    ['no role', () => without('role'), /role/],
    ['no issuer', () => without('iss'), /iss/],
    ['a wrong issuer', () => ({ ...good(), iss: 'https://evil.example' }), /iss/],
    ['no audience', () => without('aud'), /aud/],
    ['a wrong audience', () => ({ ...good(), aud: 'another-service' }), /aud/],
    ['an expired token', () => ({ ...good(), exp: now() - 120 }), /expired/],
    ['a token older than the maximum age', () => ({ ...good(), iat: now() - MAX_AGE_S - 120, exp: now() + 600 }), /expired/],
    ['a token issued in the future', () => ({ ...good(), iat: now() + 600, exp: now() + 1200 }), /future/],
  ])('refuses %s (401 problem+json saying why)', async (_name, claims, reason) => {
    const res = await call(sign(claims()));
    expect(expectProblem(res, 401).detail).toMatch(reason);
  });

  it('refuses alg none, and an algorithm other than HS256 even with the right secret', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(good())}.`;
    expectProblem(await call(unsigned), 401);
    expectProblem(await call(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(good())}`), 401);
    expectProblem(await call(sign(good(), 'HS512')), 401);
  });
});

interface ProviderKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function providerKey(kid: string, alg: ProviderKey['alg']): ProviderKey {
  const pair = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg, ...pair };
}

describe('tokens of the identity provider (JWT_JWKS_URL)', () => {
  let server: Server;
  let published: ProviderKey[] = [];
  let fetches = 0;
  let t: ApiTest;
  const keyA = providerKey('key-2026-a', 'RS256');
  const keyB = providerKey('key-2026-b', 'ES256');

  beforeAll(async () => {
    server = createServer((req, res) => {
      fetches++;
      if (req.url !== '/realms/collections/protocol/openid-connect/certs') {
        res.writeHead(404).end();
        return;
      }
      const keys = published.map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, alg: k.alg, use: 'sig' }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    t = await build({
      env: {
        JWT_JWKS_URL: `http://127.0.0.1:${port}/realms/collections/protocol/openid-connect/certs`,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        JWT_ROLE_CLAIM: 'realm_access.roles',
        JWT_BRANCH_CLAIM: 'branch_code',
        JWT_ROLE_MAP: 'CC_OFFICER=officer,CC_SUPERVISOR=supervisor,CC_ADMIN=admin',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  const claims = (roles: string[], extra: Record<string, unknown> = {}) => ({
    sub: 'u-4711',
    iss: ISSUER,
    aud: AUDIENCE,
    realm_access: { roles: ['offline_access', ...roles] },
    branch_code: 'BR01',
    ...extra,
  });
  const signWith = (key: ProviderKey, payload: object) =>
    createSigner({ key: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), algorithm: key.alg, kid: key.kid, expiresIn: 600_000 })(payload);
  const call = (token: string) => t.app.inject({ url: '/v1/cases?limit=1', headers: { authorization: `Bearer ${token}` } });

  it('accepts the provider\'s RS256 tokens, the role and branch read from the configured claims', async () => {
    published = [keyA];
    expect((await call(signWith(keyA, claims(['CC_SUPERVISOR'])))).statusCode).toBe(200);
    // A supervisor of BR01 (from branch_code) may not list BR02.
    expectProblem(await t.app.inject({ url: '/v1/cases?branch=BR02', headers: { authorization: `Bearer ${signWith(keyA, claims(['CC_SUPERVISOR']))}` } }), 403);
  });

  it('refuses a role value the map does not name, two roles at once, and a missing branch', async () => {
    published = [keyA];
    expect(expectProblem(await call(signWith(keyA, claims(['supervisor']))), 401).detail).toMatch(/realm_access\.roles/);
    expect(expectProblem(await call(signWith(keyA, claims(['CC_ADMIN', 'CC_OFFICER']))), 401).detail).toMatch(/several roles/);
    expect(expectProblem(await call(signWith(keyA, claims(['CC_OFFICER'], { branch_code: undefined }))), 401).detail).toMatch(/branch_code/);
  });

  it('refuses HS256 tokens (the development secret) once the provider signs, and alg none', async () => {
    const hs = createSigner({ key: t.config.JWT_SECRET, algorithm: 'HS256', kid: keyA.kid, expiresIn: 600_000 })(claims(['CC_ADMIN']));
    expectProblem(await call(hs), 401);
    expectProblem(await t.as(['admin', 'admin-1'], { url: '/v1/cases?limit=1' }), 401);
    expectProblem(await call(`${b64url({ alg: 'none', kid: keyA.kid })}.${b64url({ ...claims(['CC_ADMIN']), iat: now(), exp: now() + 60 })}.`), 401);
  });

  it('takes a rotated key: tokens of the new key are accepted once the provider publishes it', async () => {
    published = [keyA];
    const fromB = signWith(keyB, claims(['CC_ADMIN']));
    expect(expectProblem(await call(fromB), 401).detail).toMatch(/no key key-2026-b/);
    published = [keyB]; // the provider rotates: key B in, key A out
    const before = fetches;
    expect((await call(fromB)).statusCode).toBe(200);
    expect(fetches).toBe(before + 1);
    // Known now: no second fetch.
    expect((await call(signWith(keyB, claims(['CC_ADMIN'])))).statusCode).toBe(200);
    expect(fetches).toBe(before + 1);
  });

  it('limits the key lookups tokens with made-up key ids cause, per address (429 with Retry-After)', async () => {
    published = [keyA, keyB];
    const made = (n: number) => signWith({ ...keyA, kid: `made-up-${n}` }, claims(['CC_ADMIN']));
    const from = (remoteAddress: string, token: string) =>
      t.app.inject({ url: '/v1/cases?limit=1', remoteAddress, headers: { authorization: `Bearer ${token}` } });
    for (let n = 0; n < KEY_FETCHES_PER_WINDOW; n++) expectProblem(await from('203.0.113.7', made(n)), 401);
    const before = fetches;
    const limited = await from('203.0.113.7', made(99));
    expectProblem(limited, 429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(fetches).toBe(before); // refused before the provider is asked
    // Known keys need no lookup: that address's good tokens still pass; other addresses are not held up.
    expect((await from('203.0.113.7', signWith(keyA, claims(['CC_ADMIN'])))).statusCode).toBe(200);
    expectProblem(await from('203.0.113.8', made(100)), 401);
  });

  it('answers 503 with Retry-After when the provider\'s keys cannot be read', async () => {
    const keyC = providerKey('key-2026-c', 'ES256');
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    const res = await call(signWith(keyC, claims(['CC_ADMIN'])));
    expect(expectProblem(res, 503).detail).toMatch(/JWT_JWKS_URL/);
    expect(res.headers['retry-after']).toBeDefined();
  });
});
