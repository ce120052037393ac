DROP INDEX "cases_branch_stage_idx";--> statement-breakpoint
DROP INDEX "cases_officer_idx";--> statement-breakpoint
DROP INDEX "cases_hand_idx";--> statement-breakpoint
CREATE INDEX "cases_branch_case_idx" ON "cases" USING btree ("branch","case_id");--> statement-breakpoint
CREATE INDEX "cases_branch_stage_case_idx" ON "cases" USING btree ("branch","stage","case_id");--> statement-breakpoint
CREATE INDEX "cases_branch_hand_case_idx" ON "cases" USING btree ("branch","hand","case_id");--> statement-breakpoint
CREATE INDEX "cases_stage_case_idx" ON "cases" USING btree ("stage","case_id");--> statement-breakpoint
CREATE INDEX "cases_hand_case_idx" ON "cases" USING btree ("hand","case_id");--> statement-breakpoint
CREATE INDEX "cases_officer_case_idx" ON "cases" USING btree ("officer_id","case_id");