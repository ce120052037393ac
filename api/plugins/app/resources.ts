import type { Client } from '@temporalio/client';
import fp from 'fastify-plugin';
import type { Config } from '../../../config';
import type { Database } from '../../../db/client';

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

/** The configuration, the database and the Temporal client, made once by the caller of
 * `buildApp` (which also closes them): the app only shares them. */
export default fp(
  async function resources(fastify, options: Resources) {
    fastify.decorate('config', options.config);
    fastify.decorate('db', options.db);
    fastify.decorate('temporal', options.temporal);
  },
  { name: 'resources' },
);
