/** `npm run db:migrate`: applies the committed migrations and the seed policies at DATABASE_URL. */
import { createDatabase } from './client';
import { migrateDatabase } from './migrate';
import { seedPolicies } from './seed';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set');
  process.exit(1);
}
const database = createDatabase(url, 1);
try {
  await migrateDatabase(database.db);
  await seedPolicies(database.db);
  console.log('database migrated and seed policies in place');
} catch (err) {
  // drizzle wraps the driver's error ("Failed query: …"); the cause says what went wrong.
  const { message, cause } = err as Error;
  console.error(cause instanceof Error ? `${message}\n${cause.message}` : message);
  process.exitCode = 1;
} finally {
  await database.close();
}
