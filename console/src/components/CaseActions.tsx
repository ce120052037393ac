/**
 * The officer's one-click actions on a case: log a contact, record a promise, record a payment,
 * file a progress report. Each is a message the case answers at once; the answer (the case as it
 * now stands) or the refusal (beside the field it names) is shown where the click was.
 */
import { useState } from 'preact/hooks';
import { api, call, isProblem, requestId, type ProblemView } from '../api';
import { minorDigits, money, nowLocal, parseMoney, timeZoneOf, zonedToIso } from '../format';
import { t, term } from '../i18n';
import type { CaseDetail, CaseView } from '../types';
import { Field, ProblemAlert, fieldId } from './Field';

const CHANNELS = ['phone', 'sms', 'visit', 'letter', 'email', 'wechat'] as const;
const OUTCOMES = ['answered', 'no_answer', 'promise_to_pay', 'refused', 'dispute', 'wrong_number'] as const;
type Action = 'contact' | 'promise' | 'payment' | 'report';

export function Decision(props: { view: CaseView }) {
  const v = props.view;
  return (
    <div class="notice" role="status">
      <strong>{t('decisionTitle')}</strong>{' '}
      {t('decisionLine', {
        caseId: v.caseId,
        stage: term('stage', v.stage),
        hand: term('hand', v.hand),
        overdue: money(v.overdue, v.currency),
        recovered: money(v.recovered, v.currency),
      })}
      {v.openPromise && <> · {t('openPromiseLine', { amount: money(v.openPromise.amount, v.currency), dueDate: v.openPromise.dueDate })}</>}
      {' · '}
      {t('caseDate')} {v.caseDate}
    </div>
  );
}

export function CaseActions(props: { caseId: string; kase?: CaseDetail; onAnswered?: (view: CaseView) => void }) {
  const [open, setOpen] = useState<Action | null>(null);
  const [kase, setKase] = useState<CaseDetail | undefined>(props.kase);
  const [loadProblem, setLoadProblem] = useState<ProblemView | null>(null);
  const [answer, setAnswer] = useState<CaseView | null>(null);

  async function choose(action: Action) {
    setOpen(action);
    setAnswer(null);
    if (!kase) {
      try {
        setKase(await call(api.GET('/v1/cases/{caseId}', { params: { path: { caseId: props.caseId } } })));
      } catch (err) {
        setLoadProblem(isProblem(err) ? err : null);
      }
    }
  }
  const answered = (view: CaseView) => {
    setAnswer(view);
    setOpen(null);
    setKase((k) => (k ? { ...k, ...view } : k));
    props.onAnswered?.(view);
  };
  const labels: Record<Action, string> = { contact: t('logContact'), promise: t('recordPromise'), payment: t('recordPayment'), report: t('fileReport') };
  return (
    <div>
      <div class="actions" role="group" aria-label={`${t('actions')} ${props.caseId}`}>
        {(Object.keys(labels) as Action[]).map((action) => (
          <button type="button" class="secondary" aria-expanded={open === action} onClick={() => choose(action)} key={action}>
            {labels[action]}
          </button>
        ))}
      </div>
      <ProblemAlert problem={loadProblem} />
      {open && kase && (
        <ActionForm action={open} kase={kase} title={labels[open]} onCancel={() => setOpen(null)} onAnswered={answered} />
      )}
      {answer && <Decision view={answer} />}
    </div>
  );
}

function ActionForm(props: { action: Action; kase: CaseDetail; title: string; onCancel: () => void; onAnswered: (view: CaseView) => void }) {
  const { kase, action } = props;
  const [values, setValues] = useState<Record<string, string>>(() => ({
    channel: 'phone',
    outcome: 'answered',
    dueDate: kase.caseDate,
    paidAt: nowLocal(kase.branch),
    payer: 'borrower',
  }));
  const [problem, setProblem] = useState<ProblemView | null>(null);
  const [busy, setBusy] = useState(false);
  // Kept across a lost answer, so a retry is the same message; renewed after any answer.
  const [key, setKey] = useState(() => requestId(action));
  const set = (name: string) => (e: Event) => setValues({ ...values, [name]: (e.currentTarget as HTMLInputElement).value });
  const ids = useState(() => ({
    channel: fieldId('channel'), outcome: fieldId('outcome'), note: fieldId('note'), amount: fieldId('amount'), dueDate: fieldId('dueDate'),
    paidAt: fieldId('paidAt'), reference: fieldId('reference'), payer: fieldId('payer'), summary: fieldId('summary'),
    problems: fieldId('problems'), nextSteps: fieldId('nextSteps'),
  }))[0];

  async function submit(e: Event) {
    e.preventDefault();
    const amount = parseMoney(values.amount ?? '', kase.currency);
    if ((action === 'promise' || action === 'payment') && amount === null) {
      setProblem({ status: 0, detail: t('amountFormat', { digits: minorDigits(kase.currency) }), reason: null, fields: { amount: t('amountFormat', { digits: minorDigits(kase.currency) }) } });
      return;
    }
    setBusy(true);
    setProblem(null);
    const path = { caseId: kase.caseId };
    const params = { path, header: { 'idempotency-key': key } };
    try {
      let view: CaseView;
      if (action === 'contact') {
        view = await call(api.POST('/v1/cases/{caseId}/contacts', {
          params,
          body: { channel: values.channel as (typeof CHANNELS)[number], outcome: values.outcome as (typeof OUTCOMES)[number], ...(values.note ? { note: values.note } : {}) },
        })) as CaseView;
      } else if (action === 'promise') {
        view = await call(api.POST('/v1/cases/{caseId}/promises', { params, body: { amount: amount!, dueDate: values.dueDate ?? '' } })) as CaseView;
      } else if (action === 'payment') {
        view = await call(api.POST('/v1/cases/{caseId}/payments', {
          params,
          body: { amount: amount!, paidAt: zonedToIso(values.paidAt ?? '', kase.branch), reference: values.reference ?? '', payer: values.payer || 'borrower' },
        })) as CaseView;
      } else {
        view = await call(api.POST('/v1/cases/{caseId}/notes', {
          params,
          body: { summary: values.summary ?? '', ...(values.problems ? { problems: values.problems } : {}), ...(values.nextSteps ? { nextSteps: values.nextSteps } : {}) },
        })) as CaseView;
      }
      setKey(requestId(action));
      props.onAnswered(view);
    } catch (err) {
      const p = isProblem(err) ? err : { status: 0, detail: String(err), reason: null, fields: {} };
      if (p.status >= 400 && p.status < 500) setKey(requestId(action));
      setProblem(p);
    } finally {
      setBusy(false);
    }
  }

  const err = (name: string) => problem?.fields[name];
  const shown = ['channel', 'outcome', 'note', 'amount', 'dueDate', 'paidAt', 'reference', 'payer', 'summary', 'problems', 'nextSteps'];
  return (
    <form class="card" onSubmit={submit} aria-label={`${props.title} — ${kase.caseId}`} noValidate>
      <h3>
        {props.title} — {kase.caseId}
      </h3>
      <div class="row">
        {action === 'contact' && (
          <>
            <Field id={ids.channel} label={t('channel')} error={err('channel')}>
              {(a) => (
                <select {...a} value={values.channel} onChange={set('channel')}>
                  {CHANNELS.map((c) => <option value={c} key={c}>{term('channel', c)}</option>)}
                </select>
              )}
            </Field>
            <Field id={ids.outcome} label={t('outcome')} error={err('outcome')}>
              {(a) => (
                <select {...a} value={values.outcome} onChange={set('outcome')}>
                  {OUTCOMES.map((o) => <option value={o} key={o}>{term('outcome', o)}</option>)}
                </select>
              )}
            </Field>
            <Field id={ids.note} label={t('note')} error={err('note')}>
              {(a) => <input {...a} value={values.note ?? ''} onInput={set('note')} />}
            </Field>
          </>
        )}
        {(action === 'promise' || action === 'payment') && (
          <Field id={ids.amount} label={t('amount', { currency: kase.currency })} error={err('amount')}>
            {(a) => <input {...a} inputMode="decimal" required value={values.amount ?? ''} onInput={set('amount')} />}
          </Field>
        )}
        {action === 'promise' && (
          <Field id={ids.dueDate} label={t('dueDate')} error={err('dueDate')} hint={`${t('caseDate')} ${kase.caseDate}`}>
            {(a) => <input {...a} type="date" required value={values.dueDate ?? ''} onInput={set('dueDate')} />}
          </Field>
        )}
        {action === 'payment' && (
          <>
            <Field id={ids.paidAt} label={t('paidAt', { zone: timeZoneOf(kase.branch) })} error={err('paidAt')}>
              {(a) => <input {...a} type="datetime-local" required value={values.paidAt ?? ''} onInput={set('paidAt')} />}
            </Field>
            <Field id={ids.reference} label={t('reference')} error={err('reference')}>
              {(a) => <input {...a} required value={values.reference ?? ''} onInput={set('reference')} />}
            </Field>
            <Field id={ids.payer} label={t('payer')} error={err('payer')}>
              {(a) => <input {...a} value={values.payer ?? ''} onInput={set('payer')} />}
            </Field>
          </>
        )}
        {action === 'report' && (
          <>
            <Field id={ids.summary} label={t('summary')} error={err('summary')}>
              {(a) => <textarea {...a} required value={values.summary ?? ''} onInput={set('summary')} />}
            </Field>
            <Field id={ids.problems} label={t('problems')} error={err('problems')}>
              {(a) => <textarea {...a} value={values.problems ?? ''} onInput={set('problems')} />}
            </Field>
            <Field id={ids.nextSteps} label={t('nextSteps')} error={err('nextSteps')}>
              {(a) => <textarea {...a} value={values.nextSteps ?? ''} onInput={set('nextSteps')} />}
            </Field>
          </>
        )}
      </div>
      <ProblemAlert problem={problem} shownFields={shown} />
      <div class="actions">
        <button type="submit" disabled={busy}>{busy ? t('sending') : t('send')}</button>
        <button type="button" class="secondary" onClick={props.onCancel}>{t('cancel')}</button>
      </div>
    </form>
  );
}
