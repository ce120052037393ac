import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { whenUnauthorized } from './api';
import { applySettings, type ConsoleSettings } from './format';
import { currentLang, onLangChange, setLang, t, term, type Lang } from './i18n';
import { ApprovalsPage } from './pages/Approvals';
import { CasePage } from './pages/Case';
import { LedgerPage } from './pages/Ledger';
import { PortfolioPage } from './pages/Portfolio';
import { SignInPage } from './pages/SignIn';
import { WorklistPage } from './pages/Worklist';
import { href, navigate, parseRoute, useHash, type Route } from './router';
import { saveSession, savedSession, type Session } from './session';

/** What each role finds in the menu; the API still decides what each may read. */
function menu(session: Session): { path: string; label: string }[] {
  const items = [{ path: 'worklist', label: t('navWorklist') }, { path: 'ledger', label: t('navLedger') }];
  if (session.role !== 'officer') items.push({ path: 'approvals', label: t('navApprovals') }, { path: 'portfolio', label: t('navPortfolio') });
  return items;
}

function home(session: Session): string {
  return session.role === 'officer' ? 'worklist' : 'ledger';
}

function App() {
  const [session, setSession] = useState<Session | null>(savedSession());
  const [lang, setLangState] = useState<Lang>(currentLang());
  const hash = useHash();
  useEffect(() => onLangChange(setLangState), []);
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('appName');
  }, [lang]);
  useEffect(() => whenUnauthorized(() => signOut()), []);

  function signIn(next: Session) {
    saveSession(next);
    setSession(next);
    navigate(home(next));
  }
  function signOut() {
    saveSession(null);
    setSession(null);
    navigate('signin');
  }

  const route: Route | null = parseRoute(hash);
  if (!session || route?.page === 'signin') {
    return (
      <Shell session={null} route={route} lang={lang} onSignOut={signOut}>
        <SignInPage onSignIn={signIn} />
      </Shell>
    );
  }
  if (!route) {
    navigate(home(session));
    return null;
  }
  return (
    <Shell session={session} route={route} lang={lang} onSignOut={signOut}>
      {route.page === 'worklist' && <WorklistPage session={session} />}
      {route.page === 'ledger' && <LedgerPage session={session} query={route.query} />}
      {route.page === 'approvals' && <ApprovalsPage session={session} />}
      {route.page === 'case' && <CasePage session={session} caseId={route.caseId} key={route.caseId} />}
      {route.page === 'portfolio' && <PortfolioPage session={session} />}
    </Shell>
  );
}

function Shell(props: { session: Session | null; route: Route | null; lang: Lang; onSignOut: () => void; children: preact.ComponentChildren }) {
  const { session, route } = props;
  return (
    <>
      <a class="skip" href="#content" onClick={(e) => { e.preventDefault(); document.getElementById('content')?.focus(); }}>
        {t('skip')}
      </a>
      <header class="top">
        <strong>{t('appName')}</strong>
        {session && (
          <nav aria-label={t('appName')}>
            <ul>
              {menu(session).map((item) => (
                <li key={item.path}>
                  <a href={href(item.path)} aria-current={route?.page === item.path ? 'page' : undefined}>
                    {item.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        <div class="who">
          <label>
            <span class="skip">{t('language')}</span>
            <select aria-label={t('language')} value={props.lang} onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as Lang)}>
              <option value="zh">中文</option>
              <option value="en">English</option>
            </select>
          </label>
          {session && (
            <>
              <span data-testid="who">{t('signedInAs', { role: term('role', session.role), sub: session.sub, branch: session.branch ?? '—' })}</span>
              <button type="button" onClick={props.onSignOut}>{t('signOut')}</button>
            </>
          )}
        </div>
      </header>
      <main id="content" tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}

async function start(): Promise<void> {
  // Without its settings the console still works: no dev tokens, no Temporal link, Asia/Shanghai.
  const response = await fetch(`${import.meta.env.BASE_URL}config.json`).catch(() => null);
  if (response?.ok) applySettings((await response.json()) as ConsoleSettings);
  render(<App />, document.getElementById('root')!);
}

void start();
