ALTER TABLE "case_measures" ADD COLUMN "covers" jsonb;--> statement-breakpoint
ALTER TABLE "case_measures" ADD COLUMN "proceeds" jsonb;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "collateral_status" jsonb DEFAULT '[]'::jsonb NOT NULL;