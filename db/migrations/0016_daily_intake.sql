CREATE TABLE "intake_row_results" (
	"run_id" text NOT NULL,
	"row" integer NOT NULL,
	"loan_id" text,
	"case_id" text,
	"outcome" text NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	CONSTRAINT "intake_row_results_run_id_row_pk" PRIMARY KEY("run_id","row"),
	CONSTRAINT "intake_row_results_outcome_known" CHECK ("intake_row_results"."outcome" in ('created', 'updated', 'unchanged', 'rejected'))
);
--> statement-breakpoint
CREATE TABLE "intake_runs" (
	"run_id" text PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"file" text,
	"actor_sub" text NOT NULL,
	"actor_role" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"rows" integer DEFAULT 0 NOT NULL,
	"created" integer DEFAULT 0 NOT NULL,
	"updated" integer DEFAULT 0 NOT NULL,
	"unchanged" integer DEFAULT 0 NOT NULL,
	"rejected" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "intake_runs_source_known" CHECK ("intake_runs"."source" in ('api', 'schedule'))
);
--> statement-breakpoint
ALTER TABLE "intake_row_results" ADD CONSTRAINT "intake_row_results_run_id_intake_runs_run_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."intake_runs"("run_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "intake_row_results_case_idx" ON "intake_row_results" USING btree ("case_id");--> statement-breakpoint
CREATE INDEX "intake_runs_started_idx" ON "intake_runs" USING btree ("started_at","run_id");--> statement-breakpoint
-- A run's report is kept as written: the runtime adds rows' results, never rewrites or removes one.
REVOKE UPDATE, DELETE ON "intake_row_results" FROM collection_app;
