-- case_reads is written on every read: its key leads with the time of the read, so that new rows
-- go to the right edge of the index instead of anywhere in it (a random uuid), and that one index
-- serves both the key and the time-ordered listing the separate read_at index served.
ALTER TABLE "case_reads" DROP CONSTRAINT "case_reads_pkey";--> statement-breakpoint
ALTER TABLE "case_reads" ADD CONSTRAINT "case_reads_read_at_read_id_pk" PRIMARY KEY("read_at","read_id");--> statement-breakpoint
DROP INDEX "case_reads_read_at_idx";
