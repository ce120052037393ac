import type { Client } from '@temporalio/client';
import fp from 'fastify-plugin';
import type { Config } from '../../../config';
import type { Database } from '../../../db/client';
import { hasApiConnectionOptions } from './temporal';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    db: Database;
    temporal: Client;
  }
}

export interface Resources {
  config: Config;
  db: Database;
  temporal: Client;
}

/**
 * The configuration, the database and the Temporal client, made once by the caller of
 * `buildApp` (which also closes them): the app only shares them.
 *
 * The Temporal client's connection should be made with `apiConnectionOptions` (./temporal.ts):
 * every call then has a deadline, no retry outlives it, and the client reconnects within a
 * second of the server's return. Without them the app still works, and says so once.
 */
export default fp(
  async function resources(fastify, options: Resources) {
    if (!hasApiConnectionOptions(options.temporal)) {
      fastify.log.warn(
        'the Temporal connection was made without apiConnectionOptions (api/plugins/app/temporal.ts): calls may outlive their deadlines and reconnect slowly after an outage',
      );
    }
    fastify.decorate('config', options.config);
    fastify.decorate('db', options.db);
    fastify.decorate('temporal', options.temporal);
  },
  { name: 'resources' },
);
