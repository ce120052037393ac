/**
 * Who is signed in: the bearer token, kept for this browser tab only (sessionStorage), and the
 * claims read from it to decide what the console shows. The API verifies the token on every
 * call; the console never trusts the claims for anything but its own layout.
 */
import type { Role } from './types';

export interface Session {
  token: string;
  sub: string;
  role: Role;
  branch: string | null;
  /** Seconds since the epoch, when the token says. */
  exp: number | null;
}

const KEY = 'console.token';
const ROLES: readonly string[] = ['officer', 'supervisor', 'admin', 'system'];

/** The session a token describes, or why it cannot be one. */
export function sessionFromToken(token: string): Session | 'unreadable' | 'expired' {
  const part = token.trim().split('.')[1];
  if (!part) return 'unreadable';
  let claims: Record<string, unknown>;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
  } catch {
    return 'unreadable';
  }
  const { sub, role, branch, exp } = claims;
  if (typeof sub !== 'string' || typeof role !== 'string' || !ROLES.includes(role)) return 'unreadable';
  if (typeof exp === 'number' && exp * 1000 <= Date.now()) return 'expired';
  return { token: token.trim(), sub, role: role as Role, branch: typeof branch === 'string' ? branch : null, exp: typeof exp === 'number' ? exp : null };
}

export function savedSession(): Session | null {
  const token = sessionStorage.getItem(KEY);
  if (!token) return null;
  const session = sessionFromToken(token);
  return typeof session === 'string' ? null : session;
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(KEY, session.token);
  else sessionStorage.removeItem(KEY);
}
