/** The officer's worklist: their open cases, those cases' open tasks and their risk watches' visits,
 * what falls due first on top. */
import { useEffect, useState } from 'preact/hooks';
import { api, call, isProblem, type ProblemView } from '../api';
import { CaseActions, Decision } from '../components/CaseActions';
import { Field, ProblemAlert, fieldId } from '../components/Field';
import { dateTime } from '../format';
import { t, term } from '../i18n';
import { href } from '../router';
import type { Session } from '../session';
import type { CaseView, WorklistItem } from '../types';

export function WorklistPage(props: { session: Session }) {
  const { session } = props;
  const [items, setItems] = useState<WorklistItem[] | null>(null);
  const [problem, setProblem] = useState<ProblemView | null>(null);
  const [officerId, setOfficerId] = useState('');
  const [last, setLast] = useState<CaseView | null>(null);
  const [id] = useState(() => fieldId('officer'));

  async function load() {
    try {
      const query = session.role !== 'officer' && officerId ? { officerId, limit: 200 } : { limit: 200 };
      const page = await call(api.GET('/v1/worklist', { params: { query } }));
      setItems(page.items);
      setProblem(null);
    } catch (err) {
      setProblem(isProblem(err) ? err : null);
    }
  }
  useEffect(() => void load(), [officerId]);

  return (
    <>
      <h1>{session.role === 'officer' ? t('worklistTitle') : t('worklistBranchTitle')}</h1>
      {session.role !== 'officer' && (
        <form class="row filters" onSubmit={(e) => { e.preventDefault(); void load(); }}>
          <Field id={id} label={t('officer')}>
            {(a) => <input {...a} value={officerId} onChange={(e) => setOfficerId(e.currentTarget.value)} />}
          </Field>
        </form>
      )}
      <div aria-live="polite">{last && <Decision view={last} />}</div>
      <ProblemAlert problem={problem} />
      {items === null && !problem && <p>{t('loading')}</p>}
      {items?.length === 0 && <p>{t('none')}</p>}
      {items && items.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="skip">{t('worklistTitle')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('due')}</th>
                <th scope="col">{t('kind')}</th>
                <th scope="col">{t('type')}</th>
                <th scope="col">{t('case')}</th>
                <th scope="col">{t('hand')}</th>
                <th scope="col">{t('stage')}</th>
                {session.role !== 'officer' && <th scope="col">{t('officer')}</th>}
                <th scope="col">{t('actions')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={`${item.kind}:${item.id}`} data-case={item.caseId ?? undefined} data-watch={item.watchId ?? undefined} data-kind={item.kind}>
                  <td>{item.dueAt ? dateTime(item.dueAt, item.branch) : t('nothingDue')}</td>
                  <td>{item.kind === 'task' ? t('kindTask') : item.kind === 'case' ? t('kindCase') : t('kindWatchTask')}</td>
                  <td>{item.type ? term(item.kind === 'watch_task' ? 'watchTask' : 'task', item.type) : '—'}</td>
                  <td>{item.caseId ? <a href={href(`cases/${encodeURIComponent(item.caseId)}`)}>{item.caseId}</a> : item.watchId}</td>
                  <td>{item.hand === null ? '—' : term('hand', item.hand)}</td>
                  <td>{item.stage === null ? '—' : term('stage', item.stage)}</td>
                  {session.role !== 'officer' && <td>{item.officerId ?? t('unassigned')}</td>}
                  <td>
                    {item.kind === 'case' && item.caseId && (session.role !== 'officer' || item.officerId === session.sub) && (
                      <CaseActions caseId={item.caseId} onAnswered={(view) => { setLast(view); void load(); }} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
