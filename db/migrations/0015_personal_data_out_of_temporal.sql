ALTER TABLE "case_parties" DROP CONSTRAINT "case_parties_case_id_cases_case_id_fk";
--> statement-breakpoint
ALTER TABLE "case_parties" ADD COLUMN "recorded_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "collection_policies" ADD COLUMN "personal_data_retention_days" integer;