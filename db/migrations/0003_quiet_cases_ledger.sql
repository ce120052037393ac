CREATE TABLE "message_refusals" (
	"case_id" text NOT NULL,
	"request_id" text NOT NULL,
	"message" text NOT NULL,
	"reason" text NOT NULL,
	"field" text,
	"detail" jsonb NOT NULL,
	"actor_sub" text NOT NULL,
	"actor_role" text NOT NULL,
	"refused_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "message_refusals_case_id_request_id_reason_pk" PRIMARY KEY("case_id","request_id","reason")
);
--> statement-breakpoint
CREATE TABLE "projection_incidents" (
	"case_id" text NOT NULL,
	"run_id" text NOT NULL,
	"version" integer NOT NULL,
	"branch" text NOT NULL,
	"error" text NOT NULL,
	"event_types" jsonb NOT NULL,
	"batch" text NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	CONSTRAINT "projection_incidents_case_id_run_id_version_pk" PRIMARY KEY("case_id","run_id","version")
);
--> statement-breakpoint
DROP INDEX "cases_days_past_due_idx";--> statement-breakpoint
DROP INDEX "case_events_case_seq_idx";--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "clock_origin" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "day_ms" integer;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "paused_case_ms" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "pause_since_case" bigint;--> statement-breakpoint
-- Rows written before the calendar was projected: the case opened on its clock's origin, and its
-- policy version tells the length of a case day. The case's next projection writes the exact values.
UPDATE "cases" SET
	"clock_origin" = "opened_at",
	"day_ms" = coalesce((SELECT p."day_ms" FROM "collection_policies" p WHERE p."name" = "cases"."policy_name" AND p."version" = "cases"."policy_version"), 86400000),
	"paused_case_ms" = "paused_days"::bigint * 86400000;--> statement-breakpoint
UPDATE "cases" SET "pause_since_case" =
	(extract(epoch FROM "clock_origin") * 1000 + (extract(epoch FROM ("pause"->>'since')::timestamptz) - extract(epoch FROM "clock_origin")) * 1000 * 86400000 / "day_ms")::bigint
	WHERE "pause" IS NOT NULL;--> statement-breakpoint
-- paused_days counted the running pause too, as of the row's last rewrite.
UPDATE "cases" SET "paused_case_ms" = greatest(0, "paused_case_ms" -
	((extract(epoch FROM "updated_at") * 1000 - extract(epoch FROM "clock_origin") * 1000) * 86400000 / "day_ms"
	 + extract(epoch FROM "clock_origin") * 1000 - "pause_since_case"))::bigint
	WHERE "pause_since_case" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "cases" ALTER COLUMN "clock_origin" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "cases" ALTER COLUMN "day_ms" SET NOT NULL;--> statement-breakpoint
CREATE INDEX "message_refusals_case_idx" ON "message_refusals" USING btree ("case_id","refused_at");--> statement-breakpoint
CREATE INDEX "projection_incidents_open_idx" ON "projection_incidents" USING btree ("branch","occurred_at") WHERE "projection_incidents"."resolved_at" is null;--> statement-breakpoint
CREATE INDEX "cases_overdue_since_idx" ON "cases" USING btree ("overdue_since","case_id");--> statement-breakpoint
CREATE UNIQUE INDEX "case_events_case_seq_idx" ON "case_events" USING btree ("case_id","episode","seq");--> statement-breakpoint
ALTER TABLE "cases" DROP COLUMN "days_past_due";--> statement-breakpoint
ALTER TABLE "cases" DROP COLUMN "paused_days";--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "incidents" jsonb DEFAULT '[]'::jsonb NOT NULL;