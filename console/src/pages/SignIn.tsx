/**
 * Sign-in: in production a bearer token pasted from the bank's sign-in; under `npm start` on the
 * development secret, the demo identities the API offers at /app/dev-tokens as well.
 */
import { useEffect, useState } from 'preact/hooks';
import { Field, fieldId } from '../components/Field';
import { consoleSettings } from '../format';
import { t, term } from '../i18n';
import { sessionFromToken, type Session } from '../session';

interface DevToken {
  role: Session['role'];
  sub: string;
  branch: string | null;
  token: string;
}

export function SignInPage(props: { onSignIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [devTokens, setDevTokens] = useState<DevToken[]>([]);
  const [id] = useState(() => fieldId('token'));

  useEffect(() => {
    if (!consoleSettings().devTokens) return;
    fetch(`${import.meta.env.BASE_URL}dev-tokens`)
      .then((r) => (r.ok ? r.json() : { items: [] }))
      .then((body: { items: DevToken[] }) => setDevTokens(body.items))
      .catch(() => setDevTokens([]));
  }, []);

  function use(raw: string) {
    const session = sessionFromToken(raw);
    if (session === 'unreadable') return setError(t('tokenUnreadable'));
    if (session === 'expired') return setError(t('tokenExpired'));
    setError(undefined);
    props.onSignIn(session);
  }

  return (
    <>
      <h1>{t('signInTitle')}</h1>
      {devTokens.length > 0 && (
        <section class="card" aria-labelledby="dev-tokens">
          <h2 id="dev-tokens">{t('devTokensTitle')}</h2>
          <p class="muted">{t('devTokensHelp')}</p>
          <div class="tokens">
            {devTokens.map((d) => (
              <button type="button" class="secondary" key={d.sub} onClick={() => use(d.token)}>
                {term('role', d.role)} {d.sub}
                {d.branch ? ` · ${d.branch}` : ''}
              </button>
            ))}
          </div>
        </section>
      )}
      <section class="card">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            use(token);
          }}
        >
          <Field id={id} label={t('pasteToken')} error={error} hint={t('pasteTokenHelp')}>
            {(a) => <textarea {...a} autoComplete="off" spellcheck={false} value={token} onInput={(e) => setToken(e.currentTarget.value)} />}
          </Field>
          <button type="submit">{t('signIn')}</button>
        </form>
      </section>
    </>
  );
}
