-- The runtime's database role. Migrations run as the owner of the tables; the worker and the API
-- connect as a login role that is a member of the group role `collection_app` (created by the
-- operator with its password, never by a migration) and hold only what the runtime needs:
--   * the ledger tables the runtime writes: SELECT, INSERT, UPDATE, DELETE;
--   * case_events, the append-only business trail: SELECT and INSERT only (its trigger refuses
--     UPDATE, DELETE and TRUNCATE as well);
--   * collection_policies: SELECT only (policy versions are written by migrations and seeding);
--   * no TRUNCATE, REFERENCES or TRIGGER anywhere, no CREATE in the schema, no DDL.
-- Roles are cluster-wide: the group role may exist already (another database of the cluster, an
-- operator, a migration running at the same moment elsewhere), so creating it tolerates that.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'collection_app') THEN
    BEGIN
      CREATE ROLE collection_app NOLOGIN;
    EXCEPTION
      -- Created meanwhile by a migration of another database on the same cluster.
      WHEN duplicate_object OR unique_violation THEN
        RAISE NOTICE 'role collection_app was created concurrently; using it';
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'role collection_app does not exist and % may not create it', current_user
          USING HINT = 'Give the migration role CREATEROLE, or have an administrator run '
                       '"CREATE ROLE collection_app NOLOGIN;" once, then migrate again.';
    END;
  END IF;
END
$$;
--> statement-breakpoint
-- Databases are open to PUBLIC by default; a hardened server may have revoked that.
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO collection_app', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'could not grant CONNECT on database % to collection_app: % does not own it', current_database(), current_user;
END
$$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO collection_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON
  "cases", "case_parties", "payments", "notification_outbox", "officer_tasks",
  "projection_incidents", "message_refusals"
  TO collection_app;
--> statement-breakpoint
GRANT SELECT, INSERT ON "case_events" TO collection_app;
--> statement-breakpoint
GRANT SELECT ON "collection_policies" TO collection_app;
--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO collection_app;
--> statement-breakpoint
-- Tables and sequences that later migrations create (as this same role) get the ledger's grants
-- by default. A later table that must not be changed or read by the runtime (another append-only
-- trail, say) revokes in its own migration what this default gives; a migration run as another
-- role grants for itself.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO collection_app;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO collection_app;
--> statement-breakpoint
-- PostgreSQL 15 and later let only the schema's owner create in `public`; older servers let
-- everybody (PUBLIC) do so. Take that back where this role may, and say so where it may not.
DO $$
BEGIN
  IF has_schema_privilege('collection_app', 'public', 'CREATE') THEN
    BEGIN
      REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    EXCEPTION WHEN insufficient_privilege THEN
      NULL;
    END;
    IF has_schema_privilege('collection_app', 'public', 'CREATE') THEN
      RAISE WARNING 'collection_app may still create objects in schema public'
        USING HINT = 'As the schema''s owner run: REVOKE CREATE ON SCHEMA public FROM PUBLIC;';
    END IF;
  END IF;
END
$$;
