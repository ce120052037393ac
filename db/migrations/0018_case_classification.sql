ALTER TABLE "cases" ADD COLUMN "likelihood" text;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "tier" text;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "classification" jsonb;--> statement-breakpoint
ALTER TABLE "collection_policies" ADD COLUMN "classification" jsonb;--> statement-breakpoint
ALTER TABLE "collection_policies" ADD COLUMN "amount_tiers" jsonb;--> statement-breakpoint
ALTER TABLE "collection_policies" ADD COLUMN "follow_ups" jsonb;--> statement-breakpoint
CREATE INDEX "cases_branch_likelihood_case_idx" ON "cases" USING btree ("branch","likelihood","case_id");--> statement-breakpoint
CREATE INDEX "cases_branch_tier_case_idx" ON "cases" USING btree ("branch","tier","case_id");