/**
 * The portfolio for meetings (贷后例会): counts and amounts by stage, hand, officer and branch,
 * recovery and promise kept rates, and the roll-rate matrix as a heat map. Printable.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, call, isProblem, type ProblemView } from '../api';
import { BarChart } from '../components/BarChart';
import { Field, ProblemAlert, fieldId } from '../components/Field';
import { minorDigits, money, percent, utcToday } from '../format';
import { t, term } from '../i18n';
import type { Session } from '../session';
import type { Portfolio, RollRates } from '../types';

const HANDS = [1, 2, 3, 4, 5, 6];
const STAGES = ['collecting', 'paused', 'restructured', 'recovered', 'written_off'] as const;
const ROLL_TO = ['1', '2', '3', '4', '5', '6', 'recovered', 'written_off'] as const;

function sum<T>(rows: T[], pick: (row: T) => number): number {
  return rows.reduce((total, row) => total + pick(row), 0);
}

export function PortfolioPage(props: { session: Session }) {
  const { session } = props;
  const [asOf, setAsOf] = useState(utcToday());
  const [from, setFrom] = useState(utcToday(-30));
  const [to, setTo] = useState(utcToday());
  const [branch, setBranch] = useState('');
  const [portfolio, setPortfolio] = useState<Portfolio | null>(null);
  const [rolls, setRolls] = useState<RollRates | null>(null);
  const [currency, setCurrency] = useState<string | null>(null);
  const [problem, setProblem] = useState<ProblemView | null>(null);
  const [ids] = useState(() => ({ asOf: fieldId('asOf'), from: fieldId('from'), to: fieldId('to'), branch: fieldId('branch'), currency: fieldId('currency') }));

  async function load() {
    const scope = branch ? { branch } : {};
    try {
      const [p, r] = await Promise.all([
        call(api.GET('/v1/reports/portfolio', { params: { query: { asOf, ...scope } } })),
        call(api.GET('/v1/reports/roll-rates', { params: { query: { from, to, ...scope } } })),
      ]);
      setPortfolio(p);
      setRolls(r);
      setCurrency((c) => (c && p.totals.some((x) => x.currency === c) ? c : (p.totals[0]?.currency ?? null)));
      setProblem(null);
    } catch (err) {
      setProblem(isProblem(err) ? err : null);
    }
  }
  useEffect(() => void load(), []);

  // Charts plot major units (axes in yuan, not fen); labels format them back as money.
  const scale = currency ? 10 ** minorDigits(currency) : 1;
  const major = (minor: number) => minor / scale;
  const fmt = (v: number) => (currency ? money(Math.round(v * scale), currency) : String(v));
  const inCurrency = <T extends { currency: string }>(rows: T[]) => rows.filter((r) => r.currency === currency);
  const officers = portfolio ? [...new Set(inCurrency(portfolio.byOfficer).map((o) => o.officerId ?? t('unassigned')))] : [];
  const branches = portfolio ? [...new Set(portfolio.byBranch.map((b) => b.branch))] : [];

  return (
    <>
      <h1>{t('portfolioTitle')}{portfolio?.branch ? ` · ${portfolio.branch}` : ''}</h1>
      <form class="card filters" onSubmit={(e) => { e.preventDefault(); void load(); }}>
        <div class="row">
          <Field id={ids.asOf} label={t('asOf')} error={problem?.fields.asOf}>
            {(a) => <input {...a} type="date" value={asOf} onInput={(e) => setAsOf(e.currentTarget.value)} />}
          </Field>
          <Field id={ids.from} label={t('rollFrom')} error={problem?.fields.from}>
            {(a) => <input {...a} type="date" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />}
          </Field>
          <Field id={ids.to} label={t('rollTo')} error={problem?.fields.to}>
            {(a) => <input {...a} type="date" value={to} onInput={(e) => setTo(e.currentTarget.value)} />}
          </Field>
          {session.role === 'admin' && (
            <Field id={ids.branch} label={t('branch')} error={problem?.fields.branch}>
              {(a) => <input {...a} value={branch} placeholder={t('any')} onInput={(e) => setBranch(e.currentTarget.value)} />}
            </Field>
          )}
          {portfolio && portfolio.totals.length > 1 && (
            <Field id={ids.currency} label={t('currency')}>
              {(a) => (
                <select {...a} value={currency ?? ''} onChange={(e) => setCurrency(e.currentTarget.value)}>
                  {portfolio.totals.map((x) => <option key={x.currency} value={x.currency}>{x.currency}</option>)}
                </select>
              )}
            </Field>
          )}
        </div>
        <div class="actions">
          <button type="submit">{t('apply')}</button>
          <button type="button" class="secondary" onClick={() => window.print()}>{t('print')}</button>
        </div>
      </form>
      <ProblemAlert problem={problem} shownFields={['asOf', 'from', 'to', 'branch']} />
      {!portfolio && !problem && <p>{t('loading')}</p>}
      {portfolio && (
        <>
          <div class="kpis">
            {portfolio.totals.map((x) => (
              <div class="kpi" key={x.currency}>
                {t('recoveryRate', { currency: x.currency })}
                <strong data-testid={`recovery-rate-${x.currency}`}>{percent(x.recoveryRate)}</strong>
                {t('cases')}: {x.cases} · {t('overdue')}: {money(x.overdue, x.currency)}
              </div>
            ))}
            <div class="kpi">
              {t('promiseKeptRate')}
              <strong data-testid="promise-kept-rate">{percent(portfolio.promises.keptRate)}</strong>
              {t('promisesKeptBroken', { kept: portfolio.promises.kept, broken: portfolio.promises.broken })}
            </div>
          </div>
          <div class="charts">
            <BarChart
              testId="chart-stage"
              title={t('casesByStage')}
              labels={STAGES.map((s) => term('stage', s))}
              series={[{ label: t('cases'), data: STAGES.map((s) => sum(portfolio.byStage.filter((r) => r.stage === s), (r) => r.cases)) }]}
            />
            <BarChart
              testId="chart-hand"
              title={t('casesByHand')}
              labels={HANDS.map((h) => term('hand', h))}
              series={[{ label: t('cases'), data: HANDS.map((h) => sum(portfolio.byHand.filter((r) => r.hand === h), (r) => r.cases)) }]}
            />
            {currency && (
              <BarChart
                testId="chart-hand-amounts"
                title={t('amountsByHand', { currency })}
                labels={HANDS.map((h) => term('hand', h))}
                series={[
                  { label: t('overdue'), data: HANDS.map((h) => sum(inCurrency(portfolio.byHand).filter((r) => r.hand === h), (r) => major(r.overdue))), format: fmt },
                  { label: t('recovered'), data: HANDS.map((h) => sum(inCurrency(portfolio.byHand).filter((r) => r.hand === h), (r) => major(r.recovered))), format: fmt },
                ]}
              />
            )}
            {currency && (
              <BarChart
                testId="chart-officer"
                title={t('byOfficer', { currency })}
                labels={officers}
                series={[
                  { label: t('cases'), data: officers.map((o) => sum(inCurrency(portfolio.byOfficer).filter((r) => (r.officerId ?? t('unassigned')) === o), (r) => r.cases)) },
                  { label: t('overdue'), axis: 'y2', format: fmt, data: officers.map((o) => sum(inCurrency(portfolio.byOfficer).filter((r) => (r.officerId ?? t('unassigned')) === o), (r) => major(r.overdue))) },
                ]}
              />
            )}
            {branches.length > 1 && (
              <BarChart
                testId="chart-branch"
                title={t('byBranch')}
                labels={branches}
                series={[{ label: t('cases'), data: branches.map((b) => sum(portfolio.byBranch.filter((r) => r.branch === b), (r) => r.cases)) }]}
              />
            )}
          </div>
        </>
      )}
      {rolls && <RollRateHeatMap rolls={rolls} />}
    </>
  );
}

function RollRateHeatMap(props: { rolls: RollRates }) {
  const cell = (fromHand: number, to: string) => sum(props.rolls.cells.filter((c) => c.fromHand === fromHand && c.to === to), (c) => c.cases);
  const label = (to: string) => (/^\d$/.test(to) ? term('hand', to) : term('to', to));
  return (
    <section class="card" data-testid="roll-rates">
      <h2 id="roll-rates">{t('rollRates')} · {props.rolls.from} → {props.rolls.to}</h2>
      <div class="table-wrap">
        <table class="heat" aria-labelledby="roll-rates">
          <thead>
            <tr>
              <th scope="col">{t('fromHand')}</th>
              {ROLL_TO.map((to) => <th scope="col" key={to}>{label(to)}</th>)}
              <th scope="col">{t('cases')}</th>
            </tr>
          </thead>
          <tbody>
            {HANDS.map((h) => {
              const total = sum([...ROLL_TO], (to) => cell(h, to));
              return (
                <tr key={h}>
                  <th scope="row">{term('hand', h)}</th>
                  {ROLL_TO.map((to) => {
                    const n = cell(h, to);
                    const share = total ? n / total : 0;
                    // Light cells keep dark text, dark cells white text: both above 4.5:1.
                    const style = { background: `rgba(11, 79, 138, ${(share * 0.9).toFixed(2)})`, color: share > 0.5 ? '#fff' : '#1a1f24' };
                    return (
                      <td key={to} style={style} title={total ? percent(share) : ''}>
                        {n || ''}{n ? ` (${percent(share)})` : ''}
                      </td>
                    );
                  })}
                  <td>{total}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
