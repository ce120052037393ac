import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { branchScope } from '../../../auth/access';
import { ARREARS_COMPONENTS } from '../../../../domain';
import { badRequest, forbidden } from '../../../errors';
import { checkCaseFilters } from '../../../rules';
import { callerOf } from '../../../plugins/app/authorization';
import type { CaseFilters, CaseRow, CasesRepository } from '../../../plugins/app/cases-repository';
import { BEARER_SECURITY } from '../../../schemas/common';
import { ERROR_RESPONSES } from '../../../schemas/problem';
import { ExportCasesQuerySchema } from '../../../schemas/reports';

/** Rows read from PostgreSQL per query while streaming. */
export const EXPORT_PAGE_SIZE = 1000;

/** The columns of the export, in order: the ledger without personal data (no names, ID numbers,
 * phones, household ids, collateral descriptions or free text). */
export const EXPORT_COLUMNS: readonly [string, (row: CaseRow) => string | number | boolean | null][] = [
  ['case_id', (r) => r.caseId],
  ['loan_id', (r) => r.loanId],
  ['episode', (r) => r.episode],
  ['branch', (r) => r.branch],
  ['product', (r) => r.product],
  ['secured', (r) => r.secured],
  ['stage', (r) => r.stage],
  ['outcome', (r) => r.outcome],
  ['hand', (r) => r.hand],
  ['days_past_due', (r) => r.daysPastDue],
  ['paused_days', (r) => r.pausedDays],
  ['case_date', (r) => r.caseDate],
  ['overdue_since', (r) => r.overdueSince],
  ['currency', (r) => r.currency],
  ['principal', (r) => r.principal],
  ['outstanding', (r) => r.outstanding],
  ['overdue', (r) => r.overdue],
  ...ARREARS_COMPONENTS.map((c): (typeof EXPORT_COLUMNS)[number] => [`overdue_${snakeCase(c)}`, (r) => r.arrears[c]]),
  ['recovered', (r) => r.recovered],
  ['credit_to_return', (r) => r.creditToReturn],
  ['recovered_after_write_off', (r) => r.recoveredAfterWriteOff],
  ['legal_costs', (r) => r.legalCosts],
  ['officer_id', (r) => r.officerId],
  ['policy_name', (r) => r.policyName],
  ['policy_version', (r) => r.policyVersion],
  ['opened_at', (r) => r.openedAt.toISOString()],
  ['closed_at', (r) => (r.closedAt ? r.closedAt.toISOString() : null)],
  ['last_event_type', (r) => r.lastEventType],
  ['last_event_at', (r) => (r.lastEventAt ? r.lastEventAt.toISOString() : null)],
];

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** One RFC 4180 field: quoted when it holds a comma, a quote, CR or LF (quotes doubled); null is empty. */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(fields: (string | number | boolean | null)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

/** The header, then every matching case in case id order, read a page at a time (keyset on case
 * id), starting from the first page already read. */
async function* csvLines(repository: CasesRepository, filters: CaseFilters, first: CaseRow[]): AsyncGenerator<string> {
  yield csvLine(EXPORT_COLUMNS.map(([name]) => name));
  let rows = first;
  for (;;) {
    const items = rows.slice(0, EXPORT_PAGE_SIZE);
    if (items.length > 0) yield items.map((row) => csvLine(EXPORT_COLUMNS.map(([, value]) => value(row)))).join('');
    if (rows.length <= EXPORT_PAGE_SIZE) return;
    rows = await repository.listCases(filters, items[items.length - 1]!.caseId, EXPORT_PAGE_SIZE);
  }
}

const DESCRIPTION = `The ledger as CSV (RFC 4180, UTF-8, CRLF line ends, a header row), with the filters of \`GET /v1/cases\` (stage, outcome, policyName, policyVersion, hand, branch, officerId, minDaysPastDue, maxDaysPastDue; no cursor or limit: every matching case).

Columns: ${EXPORT_COLUMNS.map(([name]) => `\`${name}\``).join(', ')}. Amounts are integers in the minor unit of \`currency\`; dates are YYYY-MM-DD, times ISO 8601 UTC; an empty field is null. No personal data: no names, ID numbers, phones or household ids.

Streamed, not bounded: the rows are read ${EXPORT_PAGE_SIZE} at a time in case id order (a keyset cursor on case id, the order of \`GET /v1/cases\`), so the export of any size holds one page in memory. Each page is read when it is sent: a case that changes during a long export appears once, as its page found it. Should PostgreSQL fail mid-export, the response ends early without its final line break: a complete export ends with CRLF after its last row.

Officers and supervisors export their own branch only (another branch is 403).`;

/** `GET /v1/cases/export.csv`: a static path, so it wins over `/:caseId` (whose pattern it would fail). */
const exportCases: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/export.csv',
    {
      preValidation: fastify.requireRole('read'),
      schema: {
        summary: 'Export the ledger as CSV',
        description: DESCRIPTION,
        tags: ['cases'],
        security: BEARER_SECURITY,
        querystring: ExportCasesQuerySchema,
        response: {
          200: {
            description: 'Every matching case, one CSV row each, after the header row',
            content: { 'text/csv': { schema: { type: 'string' } } },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const filters = request.query;
      const scope = branchScope(caller);
      if (scope !== null && filters.branch !== undefined && filters.branch !== scope) {
        throw forbidden(`A ${caller.role} of ${scope} sees only the cases of ${scope}`);
      }
      const filterErrors = checkCaseFilters(filters);
      if (filterErrors.length > 0) throw badRequest(filterErrors);
      const effective: CaseFilters = { ...filters, ...(scope ? { branch: scope } : {}) };
      // The first page before the status line: a failure to read it is still a problem answer.
      const first = await fastify.casesRepository.listCases(effective, null, EXPORT_PAGE_SIZE);
      const stamp = new Date().toISOString().slice(0, 10);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="cases-${stamp}.csv"`)
        .header('cache-control', 'no-store')
        // A stream is sent as it is (the type provider knows only the schema's string).
        .send(Readable.from(csvLines(fastify.casesRepository, effective, first)) as unknown as string);
    },
  );
};

export default exportCases;
