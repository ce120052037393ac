-- The business trail is append-only: supervisors audit it, so no row may change or vanish.
CREATE FUNCTION case_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'case_events is append-only: % refused', TG_OP;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER case_events_append_only
  BEFORE UPDATE OR DELETE ON case_events
  FOR EACH ROW EXECUTE FUNCTION case_events_refuse_change();
--> statement-breakpoint
CREATE TRIGGER case_events_no_truncate
  BEFORE TRUNCATE ON case_events
  FOR EACH STATEMENT EXECUTE FUNCTION case_events_refuse_change();
