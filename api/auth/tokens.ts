import { createSigner } from 'fast-jwt';
import { ROLES, type Role } from '../../domain';

/** The authenticated caller, from a bearer token's claims. */
export interface Caller {
  sub: string;
  role: Role;
  /** The caller's branch; officers and supervisors always have one, admins and systems none. */
  branch: string | null;
}

/** What a token this service signs carries: `sub`, `role` and, for branch staff, `branch`. */
export interface TokenClaims {
  sub: string;
  role: Role;
  branch?: string;
}

/** Where a token carries the role and branch, and what the provider's role values mean here. */
export interface ClaimRules {
  roleClaim: string;
  branchClaim: string;
  /** The provider's values by this service's roles; null: the role names themselves. */
  roleMap: ReadonlyMap<string, Role> | null;
}

export const DEFAULT_CLAIM_RULES: ClaimRules = { roleClaim: 'role', branchClaim: 'branch', roleMap: null };

/** Roles that work within one branch and so must carry a branch claim. */
export const BRANCH_ROLES: readonly Role[] = ['officer', 'supervisor'];

/** Tokens this service signs itself (`npm start`, the token script, tests). */
export const JWT_ALGORITHM = 'HS256';
/** Tokens of an identity provider, checked against its JWKS. */
export const JWKS_ALGORITHMS = ['RS256', 'ES256'] as const;
/** Claims every token must carry, whatever signed it; the role claim is checked by name below. */
export const REQUIRED_CLAIMS = ['exp', 'iat', 'sub'] as const;
export const SUBJECT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$';
export const BRANCH_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$';

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** `JWT_ROLE_MAP`: `CC_OFFICER=officer,CC_SUPERVISOR=supervisor`; the error names what is wrong. */
export function parseRoleMap(value: string): Map<string, Role> {
  const map = new Map<string, Role>();
  for (const entry of value.split(',')) {
    const [from = '', to = '', ...rest] = entry.split('=').map((part) => part.trim());
    if (!from || rest.length > 0 || !isRole(to)) {
      throw new Error(`env/JWT_ROLE_MAP: "${entry.trim()}" must be providerValue=role, a role of ${ROLES.join(', ')}`);
    }
    if (map.has(from)) throw new Error(`env/JWT_ROLE_MAP maps ${from} twice`);
    map.set(from, to);
  }
  return map;
}

/** A claim by name; a dotted name reaches into objects (Keycloak's `realm_access.roles`). */
function claimAt(claims: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const key of name.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The one role a role claim (a value or a list of the provider's groups) names, or why none. */
function roleOf(value: unknown, rules: ClaimRules): Role | string {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  const roles = new Set<Role>();
  for (const v of values) {
    if (typeof v !== 'string') continue;
    const role = rules.roleMap ? rules.roleMap.get(v) : isRole(v) ? v : undefined;
    if (role) roles.add(role);
  }
  const expected = rules.roleMap ? `one of ${[...rules.roleMap.keys()].join(', ')}` : `one of ${ROLES.join(', ')}`;
  if (roles.size === 0) return `the token's ${rules.roleClaim} claim must name ${expected}`;
  // Several roles at once would make the caller's reach depend on an order no one chose.
  if (roles.size > 1) return `the token's ${rules.roleClaim} claim names several roles (${[...roles].join(', ')}); it must name one`;
  return [...roles][0]!;
}

/** The caller a verified token names, or why its claims are unusable. */
export function callerFromClaims(claims: unknown, rules: ClaimRules = DEFAULT_CLAIM_RULES): Caller | string {
  if (typeof claims !== 'object' || claims === null) return 'the token carries no claims';
  const record = claims as Record<string, unknown>;
  const { sub } = record;
  if (typeof sub !== 'string' || !new RegExp(SUBJECT_PATTERN).test(sub)) return 'the token has no valid sub claim';
  const role = roleOf(claimAt(record, rules.roleClaim), rules);
  if (!isRole(role)) return role;
  const branch = claimAt(record, rules.branchClaim);
  if (branch !== undefined && (typeof branch !== 'string' || !new RegExp(BRANCH_PATTERN).test(branch))) {
    return `the token has an invalid ${rules.branchClaim} claim`;
  }
  if (BRANCH_ROLES.includes(role) && branch === undefined) {
    return `${role === 'officer' ? 'an' : 'a'} ${role} token must carry a ${rules.branchClaim} claim`;
  }
  return { sub, role, branch: typeof branch === 'string' ? branch : null };
}

export interface SignOptions {
  expiresInMs?: number;
  issuer?: string | undefined;
  audience?: string | undefined;
}

/** Signs a bearer token the API accepts where it checks HS256 tokens (the token script and the
 * tests use it): `sub`, `role`, `branch`, `iat`, `exp`, and `iss`/`aud` when given. */
export function signToken(secret: string, claims: TokenClaims, options: SignOptions = {}): string {
  const problem = callerFromClaims(claims);
  if (typeof problem === 'string') throw new Error(problem);
  const sign = createSigner({
    key: secret,
    algorithm: JWT_ALGORITHM,
    expiresIn: options.expiresInMs ?? 8 * 3_600_000,
    ...(options.issuer ? { iss: options.issuer } : {}),
    ...(options.audience ? { aud: options.audience } : {}),
  });
  return sign({ ...claims });
}
