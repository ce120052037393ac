/**
 * Writes the API's OpenAPI document, as the running service serves it at /docs/json, to a file
 * (the console's typed client is generated from it):
 *
 *   npm run -s openapi -- console/src/generated/openapi.json
 *
 * The app is built on lazy resources: nothing connects to PostgreSQL or Temporal.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../api/app';
import { loadConfig } from '../config';
import { createDatabase } from '../db/client';
import { createLogger } from '../logger';

export async function openApiDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig({ DATABASE_URL: 'postgres://openapi@127.0.0.1:1/openapi', LOG_LEVEL: 'silent' });
  const database = createDatabase(config.DATABASE_URL, 1);
  const client = new Client({ connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS }) });
  const app = await buildApp({ config, db: database.db, temporal: client, logger: createLogger('silent') });
  try {
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
    await database.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = process.argv[2];
  if (!target) {
    console.error('usage: npm run -s openapi -- FILE');
    process.exit(1);
  }
  const document = await openApiDocument();
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, `${JSON.stringify(document, null, 2)}\n`);
  process.exit(0);
}
