CREATE TABLE "team_channel_outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"case_id" text NOT NULL,
	"kind" text NOT NULL,
	"url" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_by" text,
	"claimed_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	CONSTRAINT "team_channel_outbox_status_known" CHECK ("team_channel_outbox"."status" in ('pending', 'sent', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "watch_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"watch_id" text NOT NULL,
	"run_id" text NOT NULL,
	"seq" integer NOT NULL,
	"type" text NOT NULL,
	"actor_sub" text NOT NULL,
	"actor_role" text NOT NULL,
	"request_id" text,
	"occurred_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	"payload" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "watch_tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"watch_id" text NOT NULL,
	"type" text NOT NULL,
	"officer_id" text,
	"status" text DEFAULT 'open' NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "watches" (
	"watch_id" text PRIMARY KEY NOT NULL,
	"loan_id" text NOT NULL,
	"run_id" text NOT NULL,
	"branch" text NOT NULL,
	"officer_id" text,
	"currency" text NOT NULL,
	"outstanding" bigint NOT NULL,
	"trigger" text NOT NULL,
	"state" text NOT NULL,
	"exit_plan" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"visit_every_days" integer,
	"next_visit_at" timestamp with time zone,
	"visits" integer DEFAULT 0 NOT NULL,
	"case_id" text,
	"opened_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	"version" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "watches_outstanding_non_negative" CHECK ("watches"."outstanding" >= 0)
);
--> statement-breakpoint
ALTER TABLE "watch_events" ADD CONSTRAINT "watch_events_watch_id_watches_watch_id_fk" FOREIGN KEY ("watch_id") REFERENCES "public"."watches"("watch_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "watch_tasks" ADD CONSTRAINT "watch_tasks_watch_id_watches_watch_id_fk" FOREIGN KEY ("watch_id") REFERENCES "public"."watches"("watch_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "team_channel_outbox_due_idx" ON "team_channel_outbox" USING btree ("next_attempt_at") WHERE "team_channel_outbox"."status" = 'pending';--> statement-breakpoint
CREATE UNIQUE INDEX "watch_events_watch_seq_idx" ON "watch_events" USING btree ("watch_id","run_id","seq");--> statement-breakpoint
CREATE INDEX "watch_tasks_watch_idx" ON "watch_tasks" USING btree ("watch_id");--> statement-breakpoint
CREATE INDEX "watch_tasks_officer_due_idx" ON "watch_tasks" USING btree ("officer_id","due_at");--> statement-breakpoint
CREATE INDEX "watches_branch_watch_idx" ON "watches" USING btree ("branch","watch_id");--> statement-breakpoint
CREATE INDEX "watches_branch_state_watch_idx" ON "watches" USING btree ("branch","state","watch_id");--> statement-breakpoint
CREATE INDEX "watches_state_watch_idx" ON "watches" USING btree ("state","watch_id");--> statement-breakpoint
CREATE INDEX "watches_officer_watch_idx" ON "watches" USING btree ("officer_id","watch_id");--> statement-breakpoint
-- The watch's trail is append-only, as the case's is (0001): no row may change or vanish.
CREATE FUNCTION watch_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'watch_events is append-only: % refused', TG_OP;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER watch_events_append_only
  BEFORE UPDATE OR DELETE ON watch_events
  FOR EACH ROW EXECUTE FUNCTION watch_events_refuse_change();
--> statement-breakpoint
CREATE TRIGGER watch_events_no_truncate
  BEFORE TRUNCATE ON watch_events
  FOR EACH STATEMENT EXECUTE FUNCTION watch_events_refuse_change();
--> statement-breakpoint
-- The runtime only appends to it (the default privileges of 0005 gave it UPDATE and DELETE too).
REVOKE UPDATE, DELETE ON "watch_events" FROM collection_app;
