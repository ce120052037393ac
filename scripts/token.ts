/**
 * Prints a signed bearer token for the API:
 *
 *   npm run -s token -- ROLE SUBJECT [BRANCH]
 *   curl -H "authorization: Bearer $(npm run -s token -- supervisor sup-1 BR01)" localhost:3000/v1/cases
 *
 * It signs with JWT_SECRET, or outside production with the development secret the API falls back
 * to, and names JWT_ISSUER and JWT_AUDIENCE where they are set; it needs no database, so it reads
 * only the variables it uses. Where the API checks an identity provider's tokens (JWT_JWKS_URL),
 * the provider issues them: this script cannot.
 */
import { fileURLToPath } from 'node:url';
import { BRANCH_ROLES, isRole, signToken } from '../api/auth/tokens';
import { DEVELOPMENT_JWT_SECRET } from '../config';
import { ROLES } from '../domain';

const USAGE = `usage: npm run -s token -- ROLE SUBJECT [BRANCH]
  ROLE     one of ${ROLES.join(', ')}
  SUBJECT  the caller's id (an officer's id for officers)
  BRANCH   required for ${BRANCH_ROLES.join(' and ')}`;

export function secretFromEnv(env: Record<string, string | undefined>): string {
  const secret = env.JWT_SECRET;
  if (secret === undefined || secret === '') {
    if ((env.NODE_ENV ?? 'development') === 'production') throw new Error('env must have required property JWT_SECRET in production');
    return DEVELOPMENT_JWT_SECRET;
  }
  if (secret.length < 32) throw new Error('env/JWT_SECRET must NOT have fewer than 32 characters');
  return secret;
}

export function tokenFromArgs(args: string[], env: Record<string, string | undefined>): string {
  const [role, sub, branch, ...rest] = args;
  if (!role || !sub || rest.length > 0) throw new Error(USAGE);
  if (!isRole(role)) throw new Error(`ROLE must be one of ${ROLES.join(', ')}, not "${role}"\n${USAGE}`);
  if (BRANCH_ROLES.includes(role) && !branch) throw new Error(`${role === 'officer' ? 'an' : 'a'} ${role} token needs a BRANCH\n${USAGE}`);
  if (env.JWT_JWKS_URL) throw new Error('JWT_JWKS_URL is set: the API accepts only the identity provider\'s tokens, which this script cannot sign');
  return signToken(
    secretFromEnv(env),
    { sub, role, ...(branch ? { branch } : {}) },
    { ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}), ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}) },
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${tokenFromArgs(process.argv.slice(2), process.env)}\n`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
