CREATE TABLE "case_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"case_id" text NOT NULL,
	"run_id" text NOT NULL,
	"episode" integer NOT NULL,
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
CREATE TABLE "case_parties" (
	"case_id" text NOT NULL,
	"role" text NOT NULL,
	"position" smallint NOT NULL,
	"name" text NOT NULL,
	"id_number" text NOT NULL,
	"phone" text NOT NULL,
	CONSTRAINT "case_parties_case_id_role_position_pk" PRIMARY KEY("case_id","role","position")
);
--> statement-breakpoint
CREATE TABLE "cases" (
	"case_id" text PRIMARY KEY NOT NULL,
	"loan_id" text NOT NULL,
	"run_id" text NOT NULL,
	"episode" integer DEFAULT 1 NOT NULL,
	"stage" text NOT NULL,
	"hand" smallint NOT NULL,
	"days_past_due" integer NOT NULL,
	"paused_days" integer NOT NULL,
	"overdue_since" date NOT NULL,
	"currency" text NOT NULL,
	"principal" bigint NOT NULL,
	"outstanding" bigint NOT NULL,
	"overdue" bigint NOT NULL,
	"recovered" bigint NOT NULL,
	"branch" text NOT NULL,
	"product" text NOT NULL,
	"secured" boolean NOT NULL,
	"officer_id" text,
	"policy_name" text NOT NULL,
	"policy_version" integer NOT NULL,
	"collateral" jsonb NOT NULL,
	"open_promise" jsonb,
	"pause" jsonb,
	"next_action" jsonb,
	"next_action_at" timestamp with time zone,
	"last_event_type" text,
	"last_event_at" timestamp with time zone,
	"opened_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	"version" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cases_money_non_negative" CHECK ("cases"."outstanding" >= 0 and "cases"."overdue" >= 0 and "cases"."recovered" >= 0),
	CONSTRAINT "cases_hand_range" CHECK ("cases"."hand" between 1 and 6)
);
--> statement-breakpoint
CREATE TABLE "collection_policies" (
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"description" text NOT NULL,
	"day_ms" integer NOT NULL,
	"max_promise_days" integer NOT NULL,
	"hands" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "collection_policies_name_version_pk" PRIMARY KEY("name","version")
);
--> statement-breakpoint
CREATE TABLE "notification_outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"case_id" text NOT NULL,
	"channel" text NOT NULL,
	"template" text NOT NULL,
	"recipient" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "officer_tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"case_id" text NOT NULL,
	"type" text NOT NULL,
	"hand" smallint NOT NULL,
	"officer_id" text,
	"status" text DEFAULT 'open' NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"case_id" text NOT NULL,
	"episode" integer NOT NULL,
	"reference" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"paid_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"event_id" text NOT NULL,
	"recorded_by" text NOT NULL,
	CONSTRAINT "payments_case_id_episode_reference_pk" PRIMARY KEY("case_id","episode","reference"),
	CONSTRAINT "payments_amount_positive" CHECK ("payments"."amount" > 0)
);
--> statement-breakpoint
ALTER TABLE "case_events" ADD CONSTRAINT "case_events_case_id_cases_case_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("case_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "case_parties" ADD CONSTRAINT "case_parties_case_id_cases_case_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("case_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_outbox" ADD CONSTRAINT "notification_outbox_case_id_cases_case_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("case_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "officer_tasks" ADD CONSTRAINT "officer_tasks_case_id_cases_case_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("case_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_case_id_cases_case_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("case_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "case_events_case_seq_idx" ON "case_events" USING btree ("case_id","episode","seq");--> statement-breakpoint
CREATE INDEX "case_events_request_idx" ON "case_events" USING btree ("case_id","request_id");--> statement-breakpoint
CREATE INDEX "cases_branch_stage_idx" ON "cases" USING btree ("branch","stage");--> statement-breakpoint
CREATE INDEX "cases_officer_idx" ON "cases" USING btree ("officer_id");--> statement-breakpoint
CREATE INDEX "cases_hand_idx" ON "cases" USING btree ("hand");--> statement-breakpoint
CREATE INDEX "cases_days_past_due_idx" ON "cases" USING btree ("days_past_due");--> statement-breakpoint
CREATE INDEX "cases_loan_idx" ON "cases" USING btree ("loan_id");--> statement-breakpoint
CREATE INDEX "notification_outbox_pending_idx" ON "notification_outbox" USING btree ("case_id") WHERE "notification_outbox"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "officer_tasks_case_idx" ON "officer_tasks" USING btree ("case_id");--> statement-breakpoint
CREATE INDEX "officer_tasks_officer_due_idx" ON "officer_tasks" USING btree ("officer_id","due_at");