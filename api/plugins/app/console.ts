import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { tokenFromArgs } from '../../../scripts/token';
import { PROJECT_ROOT } from '../../../tools/project-paths';
import { HttpProblem, PROBLEM_CONTENT_TYPE } from '../../errors';

/** Where `npm run console:build` (run by `npm install`) leaves the console. */
export const CONSOLE_DIST = path.join(PROJECT_ROOT, 'console', 'dist');
export const CONSOLE_PREFIX = '/app';

export interface ConsoleOptions {
  /** Serve signed tokens of demo officers and supervisors to pick from: only `npm start` on the
   * development secret may turn this on, never a deployment. */
  devTokens?: boolean;
  /** The Temporal UI a case links to, e.g. http://127.0.0.1:8233 (else `TEMPORAL_UI_URL`). */
  temporalUiUrl?: string;
  /** IANA time zone per branch (else `BRANCH_TIME_ZONES`); others use DEFAULT_TIME_ZONE. */
  branchTimeZones?: Record<string, string>;
}

/** The zone of a branch that BRANCH_TIME_ZONES does not name. */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

/** The people `npm start` offers at sign-in: two of each branch role per branch, so that four
 * eyes and another branch can be tried without minting tokens by hand. */
export const DEV_IDENTITIES = [
  { role: 'officer', sub: 'officer-li', branch: 'BR01' },
  { role: 'officer', sub: 'officer-chen', branch: 'BR01' },
  { role: 'supervisor', sub: 'alice', branch: 'BR01' },
  { role: 'supervisor', sub: 'bob', branch: 'BR01' },
  { role: 'officer', sub: 'officer-zhao', branch: 'BR02' },
  { role: 'supervisor', sub: 'carol', branch: 'BR02' },
  { role: 'admin', sub: 'admin' },
] as const;

/** `BR01=Asia/Shanghai,BR02=Asia/Hong_Kong` → a map; an unknown zone is refused at start. */
export function parseBranchTimeZones(value: string | undefined): Record<string, string> {
  const zones: Record<string, string> = {};
  for (const entry of (value ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const [branch, zone] = entry.split('=').map((s) => s.trim());
    if (!branch || !zone) throw new Error(`env/BRANCH_TIME_ZONES must list BRANCH=Zone/Name pairs, not "${entry}"`);
    assertTimeZone(zone, 'BRANCH_TIME_ZONES');
    zones[branch] = zone;
  }
  return zones;
}

function assertTimeZone(zone: string, variable: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    throw new Error(`env/${variable}: "${zone}" is not an IANA time zone`);
  }
}

function sendProblem(reply: FastifyReply, problem: HttpProblem, url: string): FastifyReply {
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem.toProblem(url));
}

/**
 * The collection console under /app: the built single-page app, its settings
 * (`/app/config.json`) and, under `npm start` on the development secret only, demo tokens
 * (`/app/dev-tokens`). The console reads and changes everything through /v1 with the bearer
 * token its user signed in with; nothing here touches a case.
 */
async function consolePlugin(fastify: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const devTokens = options.devTokens === true;
  const temporalUiUrl = options.temporalUiUrl ?? fastify.config.TEMPORAL_UI_URL ?? null;
  const branchTimeZones = options.branchTimeZones ?? parseBranchTimeZones(fastify.config.BRANCH_TIME_ZONES);

  fastify.get(`${CONSOLE_PREFIX}/config.json`, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return {
      devTokens,
      temporalUiUrl,
      namespace: fastify.config.TEMPORAL_NAMESPACE,
      defaultTimeZone: DEFAULT_TIME_ZONE,
      branchTimeZones,
    };
  });

  fastify.get(`${CONSOLE_PREFIX}/dev-tokens`, async (request, reply) => {
    if (!devTokens) return sendProblem(reply, new HttpProblem(404, 'Development tokens are offered only by npm start on the development secret'), request.url);
    reply.header('cache-control', 'no-store');
    const { JWT_SECRET, NODE_ENV, JWT_ISSUER, JWT_AUDIENCE } = fastify.config;
    const env = { JWT_SECRET, NODE_ENV, JWT_ISSUER, JWT_AUDIENCE };
    return {
      items: DEV_IDENTITIES.map((who) => ({
        ...who,
        branch: 'branch' in who ? who.branch : null,
        token: tokenFromArgs([who.role, who.sub, ...('branch' in who ? [who.branch] : [])], env),
      })),
    };
  });

  if (!existsSync(path.join(CONSOLE_DIST, 'index.html'))) {
    fastify.log.warn({ root: CONSOLE_DIST }, 'the console is not built (npm run console:build): /app answers 503');
    const notBuilt = async (request: FastifyRequest, reply: FastifyReply) =>
      sendProblem(reply, new HttpProblem(503, 'The console is not built: run npm run console:build'), request.url);
    fastify.get(CONSOLE_PREFIX, notBuilt);
    fastify.get(`${CONSOLE_PREFIX}/*`, notBuilt);
    return;
  }
  // The page itself at /app and /app/ (the router ignores the trailing slash, which the static
  // plugin's /app/* never sees); every other file from the build.
  const page = await readFile(path.join(CONSOLE_DIST, 'index.html'));
  fastify.get(CONSOLE_PREFIX, async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page));
  await fastify.register(fastifyStatic, {
    root: CONSOLE_DIST,
    prefix: `${CONSOLE_PREFIX}/`,
    decorateReply: false,
    // Hashed assets never change under their name; the page itself must always be fresh.
    setHeaders: (reply, file) => {
      reply.header('cache-control', file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
    },
  });
}

export default fp(consolePlugin, { name: 'console', dependencies: ['resources'] });
