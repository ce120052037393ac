-- Cases in the ledger before components hold their arrears as principal, as the workflow's
-- state upgrade does; the outcome of cases already recovered stays unknown (null).
ALTER TABLE "cases" ADD COLUMN "arrears" jsonb;--> statement-breakpoint
UPDATE "cases" SET "arrears" = jsonb_build_object('legalCosts', 0, 'fees', 0, 'penaltyInterest', 0, 'interest', 0, 'principal', "overdue");--> statement-breakpoint
ALTER TABLE "cases" ALTER COLUMN "arrears" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "credit_to_return" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "outcome" text;--> statement-breakpoint
ALTER TABLE "cases" ADD COLUMN "settlement" jsonb;--> statement-breakpoint
ALTER TABLE "collection_policies" ADD COLUMN "allocation_order" jsonb;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "allocation" jsonb;
