/**
 * `npm run db:migrate`: applies the committed migrations and the seed policies as the owner of
 * the tables, at DATABASE_MIGRATION_URL when set, else at DATABASE_URL. The worker and the API
 * connect with DATABASE_URL as the application role (`collection_app`), which may neither change
 * the schema nor write policies: see "Database roles" in the README.
 */
import { createDatabase } from './client';
import { migrateDatabase } from './migrate';
import { seedPolicies } from './seed';

const variable = process.env.DATABASE_MIGRATION_URL ? 'DATABASE_MIGRATION_URL' : 'DATABASE_URL';
const url = process.env[variable];
if (!url) {
  console.error('neither DATABASE_MIGRATION_URL nor DATABASE_URL is set');
  process.exit(1);
}
let user: string;
try {
  user = decodeURIComponent(new URL(url).username) || '(the default user)';
} catch {
  console.error(`${variable} is not a URL (postgres://user:password@host:5432/database)`);
  process.exit(1);
}
// No statement timeout: a migration rewriting a large table may take its time.
const database = createDatabase(url, 1, undefined, { statementTimeoutMs: 0 });
try {
  await migrateDatabase(database.db);
  await seedPolicies(database.db);
  console.log(`database migrated and seed policies in place (as ${user}, from ${variable})`);
} catch (err) {
  // drizzle wraps the driver's error ("Failed query: …"); the cause says what went wrong.
  const { message, cause } = err as Error;
  console.error(`migrating as ${user} (from ${variable}) failed`);
  console.error(cause instanceof Error ? `${message}\n${cause.message}` : message);
  process.exitCode = 1;
} finally {
  await database.close();
}
