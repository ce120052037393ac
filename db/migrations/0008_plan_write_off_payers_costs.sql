ALTER TABLE "case_measures" ADD COLUMN "parties" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "case_measures" ADD COLUMN "schedule" jsonb;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "write_off" jsonb;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "recovered_after_write_off" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "legal_costs" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "payer" text DEFAULT 'borrower' NOT NULL;