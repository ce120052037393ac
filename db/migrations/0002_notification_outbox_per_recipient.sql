-- One outbox row per recipient party. Rows written before this migration (one per notification,
-- recipient 'borrower' or 'guarantors') become rows of the new shape, with the ids that the new
-- projection gives them, so a retried projection of an old batch adds nothing a second time:
-- a borrower row keeps its status under the id '<notification id>:borrower'; a guarantors row
-- becomes one row per guarantor of its case ('<notification id>:guarantor:<n>', n from 1), with
-- the same status, attempts and last error; a guarantors row of a case without guarantors had
-- nobody to reach and goes.
ALTER TABLE "notification_outbox" ADD COLUMN "notification_id" text;--> statement-breakpoint
ALTER TABLE "notification_outbox" ADD COLUMN "party_role" text;--> statement-breakpoint
ALTER TABLE "notification_outbox" ADD COLUMN "party_position" smallint;--> statement-breakpoint
ALTER TABLE "notification_outbox" ADD COLUMN "next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "notification_outbox" ADD COLUMN "claimed_by" text;--> statement-breakpoint
ALTER TABLE "notification_outbox" ADD COLUMN "claimed_until" timestamp with time zone;--> statement-breakpoint
UPDATE "notification_outbox"
   SET "notification_id" = "id", "party_role" = 'borrower', "party_position" = 0, "id" = "id" || ':borrower'
 WHERE "recipient" = 'borrower';--> statement-breakpoint
INSERT INTO "notification_outbox"
       ("id", "notification_id", "case_id", "channel", "template", "recipient", "party_role", "party_position",
        "payload", "status", "attempts", "last_error", "created_at", "sent_at")
SELECT o."id" || ':guarantor:' || (p."position" + 1), o."id", o."case_id", o."channel", o."template", o."recipient",
       'guarantor', p."position", o."payload", o."status", o."attempts", o."last_error", o."created_at", o."sent_at"
  FROM "notification_outbox" o
  JOIN "case_parties" p ON p."case_id" = o."case_id" AND p."role" = 'guarantor'
 WHERE o."recipient" = 'guarantors' AND o."notification_id" IS NULL;--> statement-breakpoint
DELETE FROM "notification_outbox" WHERE "notification_id" IS NULL;--> statement-breakpoint
ALTER TABLE "notification_outbox" ALTER COLUMN "notification_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "notification_outbox" ALTER COLUMN "party_role" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "notification_outbox" ALTER COLUMN "party_position" SET NOT NULL;--> statement-breakpoint
CREATE INDEX "notification_outbox_due_idx" ON "notification_outbox" USING btree ("next_attempt_at") WHERE "notification_outbox"."status" = 'pending';
