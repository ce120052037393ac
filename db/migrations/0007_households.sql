-- Households (一户): each case names its borrower's household (a keyed hash of the ID number), and
-- one voice per borrower: a borrower's message the household already heard that day on that
-- channel, or hears from a case at a higher hand, is `suppressed` (activities/delivery.ts).
ALTER TABLE "cases" ADD COLUMN "household_id" text;--> statement-breakpoint
ALTER TABLE "notification_outbox" ADD COLUMN "voice_day" date;--> statement-breakpoint
CREATE INDEX "cases_household_case_idx" ON "cases" USING btree ("household_id","case_id");--> statement-breakpoint
CREATE INDEX "notification_outbox_voice_idx" ON "notification_outbox" USING btree ("case_id","channel","sent_at") WHERE "notification_outbox"."party_role" = 'borrower';--> statement-breakpoint
ALTER TABLE "notification_outbox" ADD CONSTRAINT "notification_outbox_status_known" CHECK ("notification_outbox"."status" in ('pending', 'sent', 'failed', 'suppressed'));