-- Tamper-evident audit: each case_events row carries a hash over its content and the previous
-- row's hash, per case, in the order rows were stored (recorded_at, then episode, seq: a late
-- write of an earlier episode joins the chain where it arrived). PostgreSQL computes it (a BEFORE INSERT
-- trigger), so no writer can skip or forge it; the append-only trigger (0001) stays.
ALTER TABLE "case_events" ADD COLUMN "prev_hash" text;
--> statement-breakpoint
ALTER TABLE "case_events" ADD COLUMN "hash" text;
--> statement-breakpoint
-- The canonical content of a row: each field as `<length in characters>:<text>`, or `~` when
-- null, concatenated in this order: event_id, case_id, run_id, episode, seq, type, actor_sub,
-- actor_role, request_id, occurred_at (UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ), payload::text (jsonb's
-- text form is canonical). hash = hex(sha256(utf8(coalesce(prev_hash, '') || content))).
-- The verify route uses this same function; api/audit-chain.ts spells it out in TypeScript.
CREATE FUNCTION case_event_hash(prev text, e case_events) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT encode(sha256(convert_to(coalesce(prev, '') || (
      SELECT string_agg(CASE WHEN f IS NULL THEN '~' ELSE length(f)::text || ':' || f END, '' ORDER BY n)
      FROM unnest(ARRAY[
        e.event_id, e.case_id, e.run_id, e.episode::text, e.seq::text, e.type, e.actor_sub,
        e.actor_role, e.request_id,
        to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        e.payload::text
      ]) WITH ORDINALITY AS t(f, n)
    ), 'UTF8')), 'hex')
$$;
--> statement-breakpoint
-- Links a new row to its predecessor in the case's chain, under the case's row lock (the
-- projection already holds it: it writes `cases` first in the same transaction), so two
-- writers of one case never link to the same predecessor. Rows a multi-row INSERT processed
-- before are visible here. A row skipped by ON CONFLICT DO NOTHING is discarded with the hash
-- computed for it: the chain only ever holds rows that were stored. Whatever hash a writer
-- supplies is overwritten.
CREATE FUNCTION case_events_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  prev text;
BEGIN
  PERFORM 1 FROM cases WHERE case_id = NEW.case_id FOR UPDATE;
  -- Stamped under the lock: the case's writers are serialised, so the chain's order is the order
  -- rows were stored.
  NEW.recorded_at := clock_timestamp();
  SELECT e.hash INTO prev FROM case_events e
    WHERE e.case_id = NEW.case_id
    ORDER BY e.recorded_at DESC, e.episode DESC, e.seq DESC LIMIT 1;
  NEW.prev_hash := prev;
  NEW.hash := case_event_hash(prev, NEW);
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER case_events_hash_chain
  BEFORE INSERT ON case_events
  FOR EACH ROW EXECUTE FUNCTION case_events_link();
--> statement-breakpoint
-- Rows written before: chain them in order (the append-only trigger is set aside for this
-- one backfill, inside the migration's transaction).
ALTER TABLE case_events DISABLE TRIGGER case_events_append_only;
--> statement-breakpoint
DO $$
DECLARE
  r case_events;
  prev text;
  current_case text := NULL;
BEGIN
  FOR r IN SELECT * FROM case_events ORDER BY case_id, recorded_at, episode, seq LOOP
    IF current_case IS DISTINCT FROM r.case_id THEN
      prev := NULL;
      current_case := r.case_id;
    END IF;
    r.prev_hash := prev;
    r.hash := case_event_hash(prev, r);
    UPDATE case_events SET prev_hash = r.prev_hash, hash = r.hash WHERE event_id = r.event_id;
    prev := r.hash;
  END LOOP;
END
$$;
--> statement-breakpoint
ALTER TABLE case_events ENABLE TRIGGER case_events_append_only;
--> statement-breakpoint
-- GET /v1/audit: events across cases in (occurred_at, event_id) order, by actor or type.
-- (Branch goes through `cases`: cases_branch_case_idx.)
CREATE INDEX "case_events_occurred_idx" ON "case_events" USING btree ("occurred_at","event_id");
--> statement-breakpoint
CREATE INDEX "case_events_actor_occurred_idx" ON "case_events" USING btree ("actor_sub","occurred_at","event_id");
--> statement-breakpoint
CREATE INDEX "case_events_type_occurred_idx" ON "case_events" USING btree ("type","occurred_at","event_id");
--> statement-breakpoint
CREATE INDEX "case_events_case_occurred_idx" ON "case_events" USING btree ("case_id","occurred_at","event_id");
