CREATE TABLE "officers" (
	"id" text PRIMARY KEY NOT NULL,
	"branch" text NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"capacity" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "officers_capacity_non_negative" CHECK ("officers"."capacity" >= 0)
);
--> statement-breakpoint
CREATE INDEX "officers_branch_idx" ON "officers" USING btree ("branch","id");