ALTER TABLE "team_channel_outbox" ALTER COLUMN "case_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "team_channel_outbox" ADD COLUMN "watch_id" text;--> statement-breakpoint
ALTER TABLE "team_channel_outbox" ADD CONSTRAINT "team_channel_outbox_one_subject" CHECK (num_nonnulls("team_channel_outbox"."case_id", "team_channel_outbox"."watch_id") = 1);