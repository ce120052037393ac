import type { Role } from '../../domain';
import { forbidden, notFound, type HttpProblem } from '../errors';
import type { Caller } from './tokens';

/**
 * Who may do what. Officers read their branch's cases and act only on the cases assigned to
 * them; supervisors read and act within their branch; admins and systems everywhere (except
 * where an action names fewer roles).
 */
export const PERMISSIONS = {
  read: ['officer', 'supervisor', 'admin', 'system'],
  open: ['system', 'supervisor', 'admin'],
  message: ['officer', 'supervisor', 'admin', 'system'],
  assign: ['supervisor', 'admin', 'system'],
  pause: ['supervisor', 'admin'],
  decide: ['supervisor', 'admin'],
  history: ['supervisor', 'admin'],
  report: ['supervisor', 'admin'],
  reads: ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function hasRole(caller: Caller, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(caller.role);
}

export function assertRole(caller: Caller, permission: Permission): void {
  if (!hasRole(caller, permission)) {
    throw forbidden(`The ${caller.role} role may not ${describe(permission)}; allowed: ${PERMISSIONS[permission].join(', ')}`);
  }
}

/** Officers and supervisors see and act within their own branch only. */
export function branchScope(caller: Caller): string | null {
  return caller.role === 'officer' || caller.role === 'supervisor' ? caller.branch : null;
}

export function assertBranch(caller: Caller, branch: string): void {
  const scope = branchScope(caller);
  if (scope !== null && scope !== branch) {
    throw forbidden(`Branch ${branch} is outside the caller's branch: a ${caller.role} of ${scope} works only within ${scope}`);
  }
}

/** What a caller hears of a case it may not see, word for word what it hears of a case that does
 * not exist: a branch outsider learns nothing of another branch's cases. */
export function noSuchCase(caseId: string): HttpProblem {
  return notFound(`No case ${caseId}`);
}

/** Role, branch and (for officers' messages) assignment checks against a case; a case outside the
 * caller's branch is answered as if it did not exist. */
export function assertCaseAccess(
  caller: Caller,
  permission: Permission,
  kase: { caseId: string; branch: string; officerId: string | null },
): void {
  assertRole(caller, permission);
  const scope = branchScope(caller);
  if (scope !== null && scope !== kase.branch) throw noSuchCase(kase.caseId);
  if (caller.role === 'officer' && permission !== 'read' && kase.officerId !== caller.sub) {
    throw forbidden('Officers act only on the cases assigned to them');
  }
}

function describe(permission: Permission): string {
  switch (permission) {
    case 'read':
      return 'read cases';
    case 'open':
      return 'open cases';
    case 'message':
      return 'report on cases';
    case 'assign':
      return 'assign cases';
    case 'pause':
      return 'pause or resume cases';
    case 'decide':
      return 'decide on measures';
    case 'history':
      return 'read workflow histories';
    case 'report':
      return 'read portfolio reports';
    case 'reads':
      return 'list who read which case';
  }
}
