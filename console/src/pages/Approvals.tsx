/**
 * The approvals queue: proposed measures of the branch, oldest first, approved or rejected with a
 * reason. Four eyes is the API's rule; the console shows it by offering no decision on one's own
 * proposal, and shows the API's refusal should it come all the same.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, call, isProblem, requestId, type ProblemView } from '../api';
import { Field, ProblemAlert, fieldId } from '../components/Field';
import { dateTime, money } from '../format';
import { t, term } from '../i18n';
import { href } from '../router';
import type { Session } from '../session';
import type { Approval } from '../types';

export function ApprovalsPage(props: { session: Session }) {
  const [items, setItems] = useState<Approval[] | null>(null);
  const [currencies, setCurrencies] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<ProblemView | null>(null);
  const [done, setDone] = useState<string[]>([]);

  async function load() {
    try {
      const queue = (await call(api.GET('/v1/approvals', { params: { query: { limit: 200 } } }))).items;
      // A measure names no currency: its case does (amounts are minor units of it).
      const caseIds = [...new Set(queue.map((i) => i.caseId))].filter((id) => !currencies[id]);
      const found = await Promise.all(
        caseIds.map((caseId) => call(api.GET('/v1/cases/{caseId}', { params: { path: { caseId } } })).then((c) => [caseId, c.currency] as const, () => null)),
      );
      setCurrencies((known) => ({ ...known, ...Object.fromEntries(found.filter((f) => f !== null)) }));
      setItems(queue);
    } catch (err) {
      setProblem(isProblem(err) ? err : null);
    }
  }
  useEffect(() => void load(), []);

  return (
    <>
      <h1>{t('approvalsTitle')}</h1>
      <div aria-live="polite">
        {done.map((line) => <p class="notice" key={line}>{line}</p>)}
      </div>
      <ProblemAlert problem={problem} />
      {items === null && !problem && <p>{t('loading')}</p>}
      {items?.length === 0 && <p>{t('none')}</p>}
      {items?.map((item) => (
        <ApprovalCard
          key={item.measure.measureId}
          item={item}
          currency={currencies[item.caseId]}
          session={props.session}
          onDecided={(line) => {
            setDone((lines) => [...lines, line]);
            void load();
          }}
        />
      ))}
    </>
  );
}

function ApprovalCard(props: { item: Approval; currency: string | undefined; session: Session; onDecided: (line: string) => void }) {
  const { item, session } = props;
  const m = item.measure;
  const own = m.proposedBy.sub === session.sub;
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<ProblemView | null>(null);
  const [busy, setBusy] = useState(false);
  const [id] = useState(() => fieldId('decision-reason'));

  async function decide(decision: 'approve' | 'reject') {
    setBusy(true);
    setProblem(null);
    try {
      const measure = await call(api.POST('/v1/cases/{caseId}/measures/{measureId}/decision', {
        params: { path: { caseId: item.caseId, measureId: m.measureId }, header: { 'idempotency-key': requestId('decide') } },
        body: { decision, reason },
      }));
      props.onDecided(t('decided', { measure: term('measure', m.type), caseId: item.caseId, state: 'state' in measure ? term('state', measure.state) : measure.requestId }));
    } catch (err) {
      setProblem(isProblem(err) ? err : null);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-label={`${term('measure', m.type)} — ${item.caseId}`} data-measure={m.measureId}>
      <h2>
        {term('measure', m.type)} — <a href={href(`cases/${encodeURIComponent(item.caseId)}`)}>{item.caseId}</a>
      </h2>
      <dl class="facts">
        <div><dt>{t('proposedBy')}</dt><dd>{m.proposedBy.sub} ({term('role', m.proposedBy.role)})</dd></div>
        <div><dt>{t('proposedAt')}</dt><dd>{dateTime(m.proposedAt, item.branch)}</dd></div>
        <div><dt>{t('expectedRecovery')}</dt><dd>{props.currency ? money(m.expectedRecovery, props.currency) : m.expectedRecovery}</dd></div>
        <div><dt>{t('rationale')}</dt><dd>{m.rationale}</dd></div>
        {m.rule && <div><dt>{t('policy')}</dt><dd>{t('policyRule', { policy: m.rule.policy, version: m.rule.version, rule: m.rule.rule })}</dd></div>}
      </dl>
      {own ? (
        <p class="alert">{t('fourEyesOwn')}</p>
      ) : (
        <div class="row">
          <Field id={id} label={t('decisionReason')} error={problem?.fields.reason}>
            {(a) => <input {...a} required value={reason} onInput={(e) => setReason(e.currentTarget.value)} />}
          </Field>
          <div class="actions">
            <button type="button" disabled={busy || !reason} onClick={() => decide('approve')}>{t('approve')}</button>
            <button type="button" class="secondary" disabled={busy || !reason} onClick={() => decide('reject')}>{t('reject')}</button>
          </div>
        </div>
      )}
      <ProblemAlert problem={problem} shownFields={['reason']} />
    </section>
  );
}
