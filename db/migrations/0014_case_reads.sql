CREATE TABLE "case_reads" (
	"read_id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"read_at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_sub" text NOT NULL,
	"actor_role" text NOT NULL,
	"actor_branch" text,
	"case_id" text NOT NULL,
	"what" text NOT NULL,
	"request_id" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "case_reads_read_at_idx" ON "case_reads" USING btree ("read_at","read_id");--> statement-breakpoint
CREATE INDEX "case_reads_case_idx" ON "case_reads" USING btree ("case_id","read_at","read_id");--> statement-breakpoint
CREATE INDEX "case_reads_actor_idx" ON "case_reads" USING btree ("actor_sub","read_at","read_id");--> statement-breakpoint
-- The record of reads is evidence: the runtime may add to it and list it, never change or remove it.
REVOKE UPDATE, DELETE, TRUNCATE ON "case_reads" FROM collection_app;
--> statement-breakpoint
CREATE FUNCTION case_reads_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'case_reads is append-only: % refused', TG_OP;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER case_reads_append_only
  BEFORE UPDATE OR DELETE ON case_reads
  FOR EACH ROW EXECUTE FUNCTION case_reads_refuse_change();
--> statement-breakpoint
CREATE TRIGGER case_reads_no_truncate
  BEFORE TRUNCATE ON case_reads
  FOR EACH STATEMENT EXECUTE FUNCTION case_reads_refuse_change();
