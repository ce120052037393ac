/** Names for the API's answers, all taken from the generated OpenAPI paths (never written by hand). */
import type { paths } from './generated/openapi';

type Ok<P extends keyof paths, M extends 'get' | 'post'> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer T } } };
}
  ? T
  : never;
type Created<P extends keyof paths, M extends 'post'> = paths[P][M] extends {
  responses: { 201: { content: { 'application/json': infer T } } };
}
  ? T
  : never;
type Body<P extends keyof paths> = paths[P]['post'] extends { requestBody?: { content: { 'application/json': infer T } } } ? T : never;
export type Query<P extends keyof paths> = paths[P]['get'] extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export type CaseDetail = Ok<'/v1/cases/{caseId}', 'get'>;
export type CaseView = Ok<'/v1/cases/{caseId}/payments', 'post'>;
export type CasePage = Ok<'/v1/cases', 'get'>;
export type CaseQuery = Query<'/v1/cases'>;
export type Measure = CaseDetail['measures'][number];
export type CaseEvent = Ok<'/v1/cases/{caseId}/events', 'get'>['items'][number];
export type Refusal = Ok<'/v1/cases/{caseId}/refusals', 'get'>['items'][number];
export type HistoryAnswer = Ok<'/v1/cases/{caseId}/history', 'get'>;
/** `format=decoded` (the default): every run, for a person. */
export type DecodedHistory = Extract<HistoryAnswer, { runs: unknown }>;
export type WorklistItem = Ok<'/v1/worklist', 'get'>['items'][number];
export type Approval = Ok<'/v1/approvals', 'get'>['items'][number];
export type Officer = Ok<'/v1/officers', 'get'>['items'][number];
export type AssignmentReport = Ok<'/v1/assignments', 'post'>;
export type Portfolio = Ok<'/v1/reports/portfolio', 'get'>;
export type RollRates = Ok<'/v1/reports/roll-rates', 'get'>;
export type Role = CaseEvent['actor']['role'];
export type Stage = CaseDetail['stage'];
export type ContactBody = Body<'/v1/cases/{caseId}/contacts'>;
export type MeasureCreated = Created<'/v1/cases/{caseId}/measures', 'post'>;
