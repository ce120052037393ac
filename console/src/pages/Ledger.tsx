/**
 * The ledger (台账) of the branch: every filter of GET /v1/cases, sortable columns, cursor pages,
 * the same filters as CSV, and bulk reassignment through POST /v1/assignments.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, call, isProblem, requestId, type ProblemView } from '../api';
import { Field, ProblemAlert, fieldId } from '../components/Field';
import { dateTime, money } from '../format';
import { t, term, type MessageKey } from '../i18n';
import { href, navigate } from '../router';
import type { Session } from '../session';
import type { AssignmentReport, CaseDetail, CaseQuery, Officer } from '../types';

const STAGES = ['collecting', 'paused', 'restructured', 'recovered', 'written_off'] as const;
const OUTCOMES = ['cured', 'repaid', 'settled', 'written_off'] as const;
const LIKELIHOODS = ['likely', 'difficult', 'unlikely'] as const;
const FILTERS = [
  'stage',
  'outcome',
  'likelihood',
  'tier',
  'hand',
  'officerId',
  'minDaysPastDue',
  'maxDaysPastDue',
  'policyName',
  'policyVersion',
  'branch',
  'limit',
] as const;
type Filter = (typeof FILTERS)[number];
type SortKey = 'caseId' | 'stage' | 'hand' | 'daysPastDue' | 'overdue' | 'recovered' | 'outstanding' | 'officerId' | 'nextAction';

function queryFrom(params: URLSearchParams): CaseQuery {
  const query: Record<string, string | number> = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value === null || value === '') continue;
    query[name] = ['hand', 'minDaysPastDue', 'maxDaysPastDue', 'policyVersion', 'limit'].includes(name) ? Number(value) : value;
  }
  return query as CaseQuery;
}

function sortValue(c: CaseDetail, key: SortKey): string | number {
  if (key === 'nextAction') return c.nextAction?.at ?? '~';
  if (key === 'officerId') return c.officerId ?? '~';
  return c[key];
}

export function LedgerPage(props: { session: Session; query: URLSearchParams }) {
  const { session } = props;
  const query = useMemo(() => queryFrom(props.query), [props.query.toString()]);
  const [draft, setDraft] = useState<Record<Filter, string>>(() =>
    Object.fromEntries(FILTERS.map((f) => [f, props.query.get(f) ?? ''])) as Record<Filter, string>,
  );
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ items: CaseDetail[]; nextCursor: string | null } | null>(null);
  const [problem, setProblem] = useState<ProblemView | null>(null);
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'daysPastDue', dir: -1 });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [ids] = useState(() => Object.fromEntries(FILTERS.map((f) => [f, fieldId(f)])) as Record<Filter, string>);

  async function load(cursor: string | undefined) {
    try {
      setPage(await call(api.GET('/v1/cases', { params: { query: { ...query, ...(cursor ? { cursor } : {}) } } })));
      setProblem(null);
    } catch (err) {
      setProblem(isProblem(err) ? err : null);
      setPage(null);
    }
  }
  useEffect(() => {
    setCursors([undefined]);
    setSelected(new Set());
    void load(undefined);
  }, [query]);

  function apply(e: Event) {
    e.preventDefault();
    const params = new URLSearchParams(Object.entries(draft).filter(([, v]) => v !== ''));
    navigate(`ledger${params.size ? `?${params}` : ''}`);
  }

  async function exportCsv() {
    try {
      const { data, response } = await api.GET('/v1/cases/export.csv', {
        params: { query: { ...query, limit: undefined, cursor: undefined } as never },
        parseAs: 'blob',
      });
      if (!response.ok || !data) throw new Error(`HTTP ${response.status}`);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(data as Blob);
      link.download = `ledger-${session.branch ?? 'all'}-${new Date().toISOString().slice(0, 10)}.csv`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (err) {
      setProblem({ status: 0, detail: String(err), reason: null, fields: {} });
    }
  }

  const rows = useMemo(() => {
    const items = [...(page?.items ?? [])];
    items.sort((a, b) => {
      const x = sortValue(a, sort.key);
      const y = sortValue(b, sort.key);
      return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
    });
    return items;
  }, [page, sort]);

  const column = (key: SortKey, label: MessageKey, num = false) => (
    <th scope="col" class={num ? 'num' : undefined} aria-sort={sort.key === key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
      <button type="button" class="sort" aria-label={t('sortBy', { column: t(label) })} onClick={() => setSort({ key, dir: sort.key === key ? (-sort.dir as 1 | -1) : 1 })}>
        {t(label)} {sort.key === key ? (sort.dir === 1 ? '▲' : '▼') : ''}
      </button>
    </th>
  );
  const field = (name: Filter, label: MessageKey, input: 'text' | 'number' = 'text') => (
    <Field id={ids[name]} label={t(label)} error={problem?.fields[name]}>
      {(a) => <input {...a} type={input} value={draft[name]} onInput={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })} />}
    </Field>
  );
  const toggle = (caseId: string) => {
    const next = new Set(selected);
    if (next.has(caseId)) next.delete(caseId);
    else next.add(caseId);
    setSelected(next);
  };

  return (
    <>
      <h1>{t('ledgerTitle')}</h1>
      <form class="card filters" onSubmit={apply} aria-label={t('filters')}>
        <div class="row">
          <Field id={ids.stage} label={t('stage')} error={problem?.fields.stage}>
            {(a) => (
              <select {...a} value={draft.stage} onChange={(e) => setDraft({ ...draft, stage: e.currentTarget.value })}>
                <option value="">{t('any')}</option>
                {STAGES.map((s) => <option value={s} key={s}>{term('stage', s)}</option>)}
              </select>
            )}
          </Field>
          <Field id={ids.hand} label={t('hand')} error={problem?.fields.hand}>
            {(a) => (
              <select {...a} value={draft.hand} onChange={(e) => setDraft({ ...draft, hand: e.currentTarget.value })}>
                <option value="">{t('any')}</option>
                {[1, 2, 3, 4, 5, 6].map((h) => <option value={h} key={h}>{term('hand', h)}</option>)}
              </select>
            )}
          </Field>
          <Field id={ids.outcome} label={t('caseOutcome')} error={problem?.fields.outcome}>
            {(a) => (
              <select {...a} value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.currentTarget.value })}>
                <option value="">{t('any')}</option>
                {OUTCOMES.map((o) => <option value={o} key={o}>{term('caseOutcome', o)}</option>)}
              </select>
            )}
          </Field>
          <Field id={ids.likelihood} label={t('likelihood')} error={problem?.fields.likelihood}>
            {(a) => (
              <select {...a} value={draft.likelihood} onChange={(e) => setDraft({ ...draft, likelihood: e.currentTarget.value })}>
                <option value="">{t('any')}</option>
                {LIKELIHOODS.map((l) => <option value={l} key={l}>{term('likelihood', l)}</option>)}
              </select>
            )}
          </Field>
          {field('tier', 'tier')}
          {field('officerId', 'officer')}
          {field('minDaysPastDue', 'minDpd', 'number')}
          {field('maxDaysPastDue', 'maxDpd', 'number')}
          {field('policyName', 'policy')}
          {field('policyVersion', 'policyVersion', 'number')}
          {session.role === 'admin' && field('branch', 'branch')}
          {field('limit', 'pageSize', 'number')}
        </div>
        <div class="actions">
          <button type="submit">{t('apply')}</button>
          <button type="button" class="secondary" onClick={exportCsv}>{t('exportCsv')}</button>
        </div>
      </form>
      <ProblemAlert problem={problem} shownFields={[...FILTERS]} />
      {page === null && !problem && <p>{t('loading')}</p>}
      {page && (
        <>
          <div class="table-wrap">
            <table aria-label={t('ledgerTitle')}>
              <thead>
                <tr>
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label={t('selectAll')}
                      checked={rows.length > 0 && rows.every((c) => selected.has(c.caseId))}
                      onChange={(e) => setSelected(e.currentTarget.checked ? new Set(rows.map((c) => c.caseId)) : new Set())}
                    />
                  </th>
                  {column('caseId', 'case')}
                  {column('stage', 'stage')}
                  {column('hand', 'hand')}
                  {column('daysPastDue', 'dpd', true)}
                  {column('overdue', 'overdue', true)}
                  {column('recovered', 'recovered', true)}
                  {column('outstanding', 'outstanding', true)}
                  {column('officerId', 'officer')}
                  {column('nextAction', 'nextAction')}
                </tr>
              </thead>
              <tbody>
                {rows.map((c) => (
                  <tr key={c.caseId} data-case={c.caseId}>
                    <td>
                      <input type="checkbox" aria-label={t('selectCase', { caseId: c.caseId })} checked={selected.has(c.caseId)} onChange={() => toggle(c.caseId)} />
                    </td>
                    <td><a href={href(`cases/${encodeURIComponent(c.caseId)}`)}>{c.caseId}</a></td>
                    <td>{term('stage', c.stage)}</td>
                    <td>{term('hand', c.hand)}</td>
                    <td class="num">{c.daysPastDue}</td>
                    <td class="num" data-col="overdue">{money(c.overdue, c.currency)}</td>
                    <td class="num" data-col="recovered">{money(c.recovered, c.currency)}</td>
                    <td class="num">{money(c.outstanding, c.currency)}</td>
                    <td data-col="officer">{c.officerId ?? t('unassigned')}</td>
                    <td>{c.nextAction ? `${term('task', c.nextAction.type)} · ${dateTime(c.nextAction.at, c.branch)}` : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {rows.length === 0 && <p>{t('none')}</p>}
          <div class="actions no-print">
            <button type="button" class="secondary" disabled={cursors.length < 2} onClick={() => {
              const back = cursors.slice(0, -1);
              setCursors(back);
              void load(back[back.length - 1]);
            }}>{t('previous')}</button>
            <button type="button" class="secondary" disabled={!page.nextCursor} onClick={() => {
              setCursors([...cursors, page.nextCursor!]);
              void load(page.nextCursor!);
            }}>{t('next')}</button>
          </div>
        </>
      )}
      {session.role !== 'officer' && (
        <Reassign
          session={session}
          selected={[...selected]}
          onDone={() => {
            setSelected(new Set());
            void load(cursors[cursors.length - 1]);
          }}
        />
      )}
    </>
  );
}

function Reassign(props: { session: Session; selected: string[]; onDone: () => void }) {
  const [officers, setOfficers] = useState<Officer[]>([]);
  const [officerId, setOfficerId] = useState('');
  const [fromOfficerId, setFromOfficerId] = useState('');
  const [report, setReport] = useState<AssignmentReport | null>(null);
  const [problem, setProblem] = useState<ProblemView | null>(null);
  const [busy, setBusy] = useState(false);
  const [ids] = useState(() => ({ to: fieldId('to'), from: fieldId('from'), list: fieldId('officers') }));

  useEffect(() => {
    call(api.GET('/v1/officers', { params: { query: {} } }))
      .then((answer) => setOfficers(answer.items))
      .catch(() => setOfficers([]));
  }, []);

  async function send(body: { officerId: string; caseIds?: string[]; fromOfficerId?: string }) {
    setBusy(true);
    setProblem(null);
    try {
      setReport(await call(api.POST('/v1/assignments', { params: { header: { 'idempotency-key': requestId('assign') } }, body })));
      props.onDone();
    } catch (err) {
      setProblem(isProblem(err) ? err : null);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card no-print" aria-labelledby="reassign">
      <h2 id="reassign">{t('reassignTitle')}</h2>
      <datalist id={ids.list}>
        {officers.filter((o) => o.active).map((o) => <option value={o.id} key={o.id}>{`${o.id} (${o.load}/${o.capacity})`}</option>)}
      </datalist>
      <div class="row">
        <Field id={ids.to} label={t('reassignTo')} error={problem?.fields.officerId}>
          {(a) => <input {...a} list={ids.list} value={officerId} onInput={(e) => setOfficerId(e.currentTarget.value)} />}
        </Field>
        <button type="button" disabled={busy || !officerId || props.selected.length === 0} onClick={() => send({ officerId, caseIds: props.selected })}>
          {t('reassignSelected', { count: props.selected.length })}
        </button>
      </div>
      <div class="row">
        <Field id={ids.from} label={t('reassignFrom')} error={problem?.fields.fromOfficerId}>
          {(a) => <input {...a} list={ids.list} value={fromOfficerId} onInput={(e) => setFromOfficerId(e.currentTarget.value)} />}
        </Field>
        <button type="button" class="secondary" disabled={busy || !officerId || !fromOfficerId} onClick={() => send({ officerId, fromOfficerId })}>
          {t('reassignAllFrom')}
        </button>
      </div>
      <ProblemAlert problem={problem} shownFields={['officerId', 'fromOfficerId']} />
      {report && (
        <table aria-label={t('reassignResult')}>
          <thead>
            <tr><th scope="col">{t('case')}</th><th scope="col">{t('outcomeCol')}</th><th scope="col">{t('reason')}</th></tr>
          </thead>
          <tbody>
            {report.items.map((item) => (
              <tr key={item.caseId}>
                <td>{item.caseId}</td>
                <td>{term('assign', item.outcome)}</td>
                <td>{item.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
