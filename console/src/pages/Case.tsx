/** One case: its header, the plan's measures, the officer's actions and the merged timeline. */
import { useEffect, useState } from 'preact/hooks';
import { api, call, isProblem, type ProblemView } from '../api';
import { CaseActions } from '../components/CaseActions';
import { ProblemAlert } from '../components/Field';
import { consoleSettings, dateTime, money } from '../format';
import { t, term } from '../i18n';
import type { Session } from '../session';
import type { CaseDetail, CaseEvent } from '../types';
import { historyEntries, merged, refusalEntry, trailEntry, type TimelineEntry } from '../timeline';

const ARREARS_COMPONENTS = ['legalCosts', 'fees', 'penaltyInterest', 'interest', 'principal'] as const;

const MAX_EVENT_PAGES = 20;

async function allEvents(caseId: string): Promise<CaseEvent[]> {
  const events: CaseEvent[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_EVENT_PAGES; i += 1) {
    const page = await call(api.GET('/v1/cases/{caseId}/events', { params: { path: { caseId }, query: { limit: 200, ...(cursor ? { cursor } : {}) } } }));
    events.push(...page.items);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return events;
}

export function CasePage(props: { session: Session; caseId: string }) {
  const { session, caseId } = props;
  const [kase, setKase] = useState<CaseDetail | null>(null);
  const [problem, setProblem] = useState<ProblemView | null>(null);
  const [trail, setTrail] = useState<TimelineEntry[]>([]);
  const [temporal, setTemporal] = useState<TimelineEntry[] | null>(null);
  const [showTemporal, setShowTemporal] = useState(true);
  const mayReadHistory = session.role === 'supervisor' || session.role === 'admin';

  async function load() {
    try {
      const detail = await call(api.GET('/v1/cases/{caseId}', { params: { path: { caseId } } }));
      setKase(detail);
      const [events, refusals] = await Promise.all([
        allEvents(caseId),
        call(api.GET('/v1/cases/{caseId}/refusals', { params: { path: { caseId } } })),
      ]);
      setTrail([...events.map((e) => trailEntry(e, detail.currency)), ...refusals.items.map(refusalEntry)]);
      if (mayReadHistory) setTemporal(historyEntries(await call(api.GET('/v1/cases/{caseId}/history', { params: { path: { caseId } } }))));
    } catch (err) {
      setProblem(isProblem(err) ? err : null);
    }
  }
  useEffect(() => void load(), [caseId]);

  if (problem && !kase) {
    return (
      <>
        <h1>{t('caseTitle', { caseId })}</h1>
        <p class="alert" role="alert">{problem.status === 404 || problem.status === 403 ? `${t('notFoundCase')} (${problem.detail})` : problem.detail}</p>
      </>
    );
  }
  if (!kase) return <p>{t('loading')}</p>;
  const { temporalUiUrl, namespace } = consoleSettings();
  const timeline = merged(trail, showTemporal && temporal ? temporal : []);
  const mayAct = session.role === 'supervisor' || session.role === 'admin' || (session.role === 'officer' && kase.officerId === session.sub);
  return (
    <>
      <h1>{t('caseTitle', { caseId })}</h1>
      <section class="card" aria-label={t('caseTitle', { caseId })}>
        <dl class="facts" data-testid="case-header">
          <div><dt>{t('borrower')}</dt><dd>{t('borrowerMasked')}</dd></div>
          <div><dt>{t('loan')}</dt><dd>{kase.loanId} · {kase.product}{kase.secured ? ' · 🔒' : ''}</dd></div>
          <div><dt>{t('stage')}</dt><dd>{term('stage', kase.stage)}</dd></div>
          <div><dt>{t('hand')}</dt><dd data-testid="case-hand">{term('hand', kase.hand)}</dd></div>
          <div><dt>{t('dpd')}</dt><dd>{kase.daysPastDue}</dd></div>
          <div><dt>{t('caseDate')}</dt><dd>{kase.caseDate}</dd></div>
          <div><dt>{t('principal')}</dt><dd>{money(kase.principal, kase.currency)}</dd></div>
          <div><dt>{t('outstanding')}</dt><dd>{money(kase.outstanding, kase.currency)}</dd></div>
          <div>
            <dt>{t('overdue')}</dt>
            <dd>
              {money(kase.overdue, kase.currency)}
              <ul class="components" data-testid="case-arrears">
                {ARREARS_COMPONENTS.filter((c) => kase.arrears[c] > 0).map((c) => (
                  <li key={c}>{term('component', c)} {money(kase.arrears[c], kase.currency)}</li>
                ))}
              </ul>
            </dd>
          </div>
          <div><dt>{t('recovered')}</dt><dd>{money(kase.recovered, kase.currency)}</dd></div>
          {kase.creditToReturn > 0 && <div><dt>{t('creditToReturn')}</dt><dd>{money(kase.creditToReturn, kase.currency)}</dd></div>}
          {kase.outcome && <div><dt>{t('caseOutcome')}</dt><dd>{term('caseOutcome', kase.outcome)}</dd></div>}
          <div>
            <dt>{t('likelihood')}</dt>
            <dd data-testid="case-likelihood">
              {kase.classification ? term('likelihood', kase.classification.likelihood) : '—'}
              {kase.classification?.override ? ` (${t('overriddenBy', { sub: kase.classification.override.by.sub })})` : ''}
            </dd>
          </div>
          <div><dt>{t('tier')}</dt><dd>{kase.tier ?? '—'}</dd></div>
          <div><dt>{t('officer')}</dt><dd>{kase.officerId ?? t('unassigned')}</dd></div>
          <div><dt>{t('branch')}</dt><dd>{kase.branch}</dd></div>
          <div><dt>{t('policy')}</dt><dd>{kase.policy.name} v{kase.policy.version}</dd></div>
          <div><dt>{t('household')}</dt><dd>{kase.householdId ?? '—'}</dd></div>
          <div><dt>{t('episode')}</dt><dd>{kase.episode}</dd></div>
          <div><dt>{t('openedAt')}</dt><dd>{dateTime(kase.openedAt, kase.branch)}</dd></div>
        </dl>
        {temporalUiUrl && (
          <p>
            <a href={`${temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(caseId)}`} target="_blank" rel="noopener">
              {t('openInTemporal')}
            </a>
          </p>
        )}
      </section>
      {mayAct && (
        <section class="card no-print">
          <h2>{t('actions')}</h2>
          <CaseActions caseId={caseId} kase={kase} onAnswered={() => void load()} />
        </section>
      )}
      <section class="card">
        <h2>{t('planTitle')}</h2>
        {kase.measures.length === 0 ? (
          <p>{t('none')}</p>
        ) : (
          <table>
            <thead>
              <tr><th scope="col">{t('measure')}</th><th scope="col">{t('state')}</th><th scope="col">{t('proposedBy')}</th><th scope="col">{t('expectedRecovery')}</th><th scope="col">{t('rationale')}</th></tr>
            </thead>
            <tbody>
              {kase.measures.map((m) => (
                <tr key={m.measureId}>
                  <td>{term('measure', m.type)}</td>
                  <td><span class="badge">{term('state', m.state)}</span>{m.decision ? ` · ${m.decision.by.sub}: ${m.decision.reason}` : ''}</td>
                  <td>{m.proposedBy.sub}{m.rule ? ` · ${t('policyRule', { policy: m.rule.policy, version: m.rule.version, rule: m.rule.rule })}` : ''}</td>
                  <td class="num">{money(m.expectedRecovery, kase.currency)}</td>
                  <td>{m.rationale}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="card">
        <h2>{t('timelineTitle')}</h2>
        <p class="muted">{t('timelineHelp')}</p>
        {mayReadHistory ? (
          <label class="no-print">
            <input type="checkbox" checked={showTemporal} onChange={(e) => setShowTemporal(e.currentTarget.checked)} /> {t('showTemporal')}
          </label>
        ) : (
          <p class="muted">{t('historyNotAllowed')}</p>
        )}
        <ProblemAlert problem={problem} />
        <ol class="timeline" aria-label={t('timelineTitle')}>
          {timeline.map((entry) => (
            <li class={entry.source} key={entry.key} data-source={entry.source}>
              <div class="when">{dateTime(entry.at, kase.branch)} · {entry.who}</div>
              <div><strong>{entry.what}</strong></div>
              {entry.lines.map((line, i) => <div key={i}>{line}</div>)}
            </li>
          ))}
        </ol>
      </section>
    </>
  );
}
