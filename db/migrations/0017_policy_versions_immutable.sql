-- A policy version is never changed once written: running cases keep the version they opened
-- with, and the ledger and the business trail name it. Admins add versions through the API, so
-- the runtime role may now INSERT them (still not UPDATE or DELETE).
CREATE FUNCTION collection_policies_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'collection policy versions are immutable: add a new version instead'
    USING ERRCODE = 'insufficient_privilege';
END
$$;--> statement-breakpoint
CREATE TRIGGER collection_policies_immutable
  BEFORE UPDATE OR DELETE ON collection_policies
  FOR EACH ROW EXECUTE FUNCTION collection_policies_refuse_change();--> statement-breakpoint
CREATE TRIGGER collection_policies_no_truncate
  BEFORE TRUNCATE ON collection_policies
  FOR EACH STATEMENT EXECUTE FUNCTION collection_policies_refuse_change();--> statement-breakpoint
GRANT INSERT ON collection_policies TO collection_app;
