/** What test/global-setup.ts hands to every test file through `inject`. */
declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the run's Temporal dev server (namespace `default`, case search attributes registered). */
    temporalAddress: string;
    /** The run's own PostgreSQL database, migrated and seeded, dropped after the run. */
    databaseUrl: string;
  }
}

export {};
