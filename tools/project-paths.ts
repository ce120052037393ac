import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Local state of `npm start` (Temporal's SQLite file, embedded PostgreSQL); git-ignored. */
export const DATA_DIR = path.join(PROJECT_ROOT, '.data');

/** Tools installed for this checkout only (the Temporal CLI); git-ignored. */
export const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools');
