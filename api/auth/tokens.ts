import { createSigner } from 'fast-jwt';
import { ROLES, type Role } from '../../domain';

/** The authenticated caller, from a bearer token's claims. */
export interface Caller {
  sub: string;
  role: Role;
  /** The caller's branch; officers and supervisors always have one, admins and systems none. */
  branch: string | null;
}

/** What a signed token carries: `sub`, `role` and, for branch staff, `branch`. */
export interface TokenClaims {
  sub: string;
  role: Role;
  branch?: string;
}

/** Roles that work within one branch and so must carry a `branch` claim. */
export const BRANCH_ROLES: readonly Role[] = ['officer', 'supervisor'];

export const JWT_ALGORITHM = 'HS256';
export const SUBJECT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$';
export const BRANCH_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$';

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** The caller a verified token names, or why its claims are unusable. */
export function callerFromClaims(claims: unknown): Caller | string {
  if (typeof claims !== 'object' || claims === null) return 'the token carries no claims';
  const { sub, role, branch } = claims as Record<string, unknown>;
  if (typeof sub !== 'string' || !new RegExp(SUBJECT_PATTERN).test(sub)) return 'the token has no valid sub claim';
  if (!isRole(role)) return `the token's role claim must be one of ${ROLES.join(', ')}`;
  if (branch !== undefined && (typeof branch !== 'string' || !new RegExp(BRANCH_PATTERN).test(branch))) {
    return 'the token has an invalid branch claim';
  }
  if (BRANCH_ROLES.includes(role) && branch === undefined) return `${role === 'officer' ? 'an' : 'a'} ${role} token must carry a branch claim`;
  return { sub, role, branch: typeof branch === 'string' ? branch : null };
}

/** Signs a bearer token the API accepts (the token script and the tests use it). */
export function signToken(secret: string, claims: TokenClaims, options: { expiresInMs?: number } = {}): string {
  const problem = callerFromClaims(claims);
  if (typeof problem === 'string') throw new Error(problem);
  const sign = createSigner({ key: secret, algorithm: JWT_ALGORITHM, expiresIn: options.expiresInMs ?? 8 * 3_600_000 });
  return sign({ ...claims });
}
