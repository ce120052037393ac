#!/bin/sh
# The app database's roles, made once by the official postgres image on the first start of an
# empty data directory (mounted into /docker-entrypoint-initdb.d), as the server's superuser:
#
#   COLLECTION_DB_OWNER      owns the database and everything migrations create in it; the
#                            migration job connects as it (DATABASE_MIGRATION_URL). No superuser,
#                            no CREATEROLE: the group role below exists before migrations run.
#   collection_app           the runtime's privileges, granted by migration 0005 (NOLOGIN).
#   COLLECTION_DB_APP_USER   the worker's and the API's login (DATABASE_URL), a member of
#                            collection_app and nothing else.
#
# A data directory made before these roles existed is not initialised again: run this script's
# SQL by hand as the superuser, or start from an empty volume (`docker compose down -v`).
# No `set -u`: the image sources scripts that are not executable into its own shell.
set -e

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v db="$POSTGRES_DB" \
  -v owner="$COLLECTION_DB_OWNER" -v owner_password="$COLLECTION_DB_OWNER_PASSWORD" \
  -v app_user="$COLLECTION_DB_APP_USER" -v app_password="$COLLECTION_DB_APP_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password';
ALTER DATABASE :"db" OWNER TO :"owner";
-- PostgreSQL 15+: schema public belongs to the database's owner (pg_database_owner), and only it
-- may create there.
-- Only the owner and the runtime connect.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
CREATE ROLE collection_app NOLOGIN;
GRANT CONNECT ON DATABASE :"db" TO collection_app;
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password' IN ROLE collection_app;
SQL
