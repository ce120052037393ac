import type { FastifyJWTOptions } from '@fastify/jwt';
import type { FastifyRequest } from 'fastify';
import buildGetJwks from 'get-jwks';
import type { Config } from '../../config';
import { serviceUnavailable, unauthorized } from '../errors';
import { JWKS_ALGORITHMS, JWT_ALGORITHM, parseRoleMap, REQUIRED_CLAIMS, type ClaimRules } from './tokens';

/** Clocks of the provider and of this service may differ by this much (exp, nbf, iat). */
export const CLOCK_TOLERANCE_MS = 30_000;
/** How long a fetched key is trusted before it is asked for again: a key the provider withdraws is
 * refused within this time; a new key (rotation) is fetched the first time a token names it. */
const JWKS_CACHE_TTL_MS = 5 * 60_000;

export interface TokenVerification {
  /** The @fastify/jwt options: the key (or the provider's key for a token), the checks. */
  jwt: FastifyJWTOptions;
  claims: ClaimRules;
}

interface DecodedToken {
  header: { alg?: string; kid?: string };
}

/**
 * How bearer tokens are checked. With `JWT_JWKS_URL`, RS256/ES256 tokens of the bank's identity
 * provider, against its published keys; otherwise HS256 tokens signed with `JWT_SECRET`. Either
 * way a token must carry `exp`, `iat` and `sub` and the role claim, be no older (by `iat`) than
 * `JWT_MAX_AGE_SECONDS`, and name `JWT_ISSUER` and `JWT_AUDIENCE` where they are set. `alg: none`
 * and any algorithm but those named are refused. `beforeKeyFetch` runs before a key id not yet
 * known is looked up at the provider (and may refuse).
 */
export function tokenVerification(
  config: Config,
  hooks: { beforeKeyFetch?: (request: FastifyRequest) => Promise<void> } = {},
): TokenVerification {
  const claims: ClaimRules = {
    roleClaim: config.JWT_ROLE_CLAIM,
    branchClaim: config.JWT_BRANCH_CLAIM,
    roleMap: config.JWT_ROLE_MAP ? parseRoleMap(config.JWT_ROLE_MAP) : null,
  };
  const checks = {
    // fast-jwt checks iss and aud only where a token carries them: configured, they are required.
    requiredClaims: [
      ...REQUIRED_CLAIMS,
      claims.roleClaim.split('.')[0]!,
      ...(config.JWT_ISSUER ? ['iss'] : []),
      ...(config.JWT_AUDIENCE ? ['aud'] : []),
    ],
    maxAge: config.JWT_MAX_AGE_SECONDS, // seconds: @fastify/jwt turns numbers into ms
    clockTolerance: CLOCK_TOLERANCE_MS,
    ...(config.JWT_ISSUER ? { allowedIss: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { allowedAud: config.JWT_AUDIENCE } : {}),
  };
  if (!config.JWT_JWKS_URL) {
    return {
      jwt: { secret: config.JWT_SECRET, verify: { ...checks, algorithms: [JWT_ALGORITHM] } },
      claims,
    };
  }
  const jwksUrl = new URL(config.JWT_JWKS_URL);
  const getJwks = buildGetJwks({
    ttl: JWKS_CACHE_TTL_MS,
    jwksPath: `${jwksUrl.pathname}${jwksUrl.search}`,
  });
  const domain = `${jwksUrl.origin}/`; // as get-jwks writes it in its cache keys
  const providerKey = async (request: FastifyRequest, token: unknown): Promise<string> => {
    const { alg, kid } = (token as DecodedToken).header;
    if (!alg || !(JWKS_ALGORITHMS as readonly string[]).includes(alg)) {
      throw unauthorized(`The bearer token was refused: its alg must be one of ${JWKS_ALGORITHMS.join(', ')}`);
    }
    if (!kid) throw unauthorized('The bearer token was refused: it names no key (kid)');
    if (getJwks.cache.get(getJwks.generateCacheKey(alg, kid, domain)) === undefined) await hooks.beforeKeyFetch?.(request);
    try {
      return await getJwks.getPublicKey({ domain, alg, kid });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'JWK_NOT_FOUND') throw unauthorized(`The bearer token was refused: the identity provider publishes no key ${kid}`);
      // The provider's keys could not be read: the token may well be good, so a retry may do.
      throw serviceUnavailable(`The identity provider's keys (JWT_JWKS_URL) could not be read: ${(err as Error).message}`);
    }
  };
  return {
    jwt: {
      secret: { public: providerKey },
      decode: { complete: true },
      verify: { ...checks, algorithms: [...JWKS_ALGORITHMS] },
    },
    claims,
  };
}
