CREATE TABLE "case_measures" (
	"measure_id" text PRIMARY KEY NOT NULL,
	"case_id" text NOT NULL,
	"episode" integer NOT NULL,
	"branch" text NOT NULL,
	"type" text NOT NULL,
	"state" text NOT NULL,
	"rationale" text NOT NULL,
	"expected_recovery" bigint NOT NULL,
	"proposed_by" jsonb NOT NULL,
	"proposed_at" timestamp with time zone NOT NULL,
	"rule" jsonb,
	"decision" jsonb,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"last_note" text,
	"version" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "measures" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "collection_policies" ADD COLUMN "measure_rules" jsonb;--> statement-breakpoint
ALTER TABLE "case_measures" ADD CONSTRAINT "case_measures_case_id_cases_case_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("case_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "case_measures_case_idx" ON "case_measures" USING btree ("case_id","proposed_at");--> statement-breakpoint
CREATE INDEX "case_measures_pending_idx" ON "case_measures" USING btree ("branch","proposed_at") WHERE "case_measures"."state" = 'proposed';