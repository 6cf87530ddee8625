// The dashboard's root: sign-in (a Kubernetes bearer token, kept in this tab's sessionStorage
// only), then hash routes: #/ all policies, #/r/<namespace>/<name> one release.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { ApiRefusal, forgetCache, get, token } from './api.ts';
import { ReleaseList } from './list.tsx';
import { Release } from './release.tsx';

// `kubectl canary dashboard` prints a URL ending in #ns=NAMESPACE&token=SESSION: keep both for
// this tab and take the token out of the address bar.
const launch = new URLSearchParams(location.hash.slice(1));
if (launch.has('token')) {
  token.set(launch.get('token') ?? '');
  sessionStorage.setItem('canaryd.namespace', launch.get('ns') ?? '');
  history.replaceState(null, '', '#/');
}

type Session = { state: 'checking' } | { state: 'signed-out'; reason?: string } | { state: 'signed-in'; username: string };

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

/** The operation routes this canaryd serves (approve appears once the API has it). */
async function operationRoutes(): Promise<Set<string>> {
  const document = (await (await fetch('/openapi.json')).json()) as { paths: Record<string, unknown> };
  const routes = Object.keys(document.paths)
    .map((path) => /\/releases\/\{name\}\/([a-z]+)$/.exec(path)?.[1])
    .filter((route): route is string => route !== undefined);
  return new Set(routes);
}

function SignIn({ reason, onToken }: { reason?: string; onToken: (value: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="signin"
      onSubmit={(e) => {
        e.preventDefault();
        onToken(value);
      }}
    >
      <h2>Sign in</h2>
      <p>
        Paste a Kubernetes bearer token (for example <code>kubectl create token NAME</code>). canaryd checks it with
        TokenReview and shows what RBAC lets you see. It stays in this browser tab only.
      </p>
      {reason && (
        <p class="refusal" role="alert">
          {reason}
        </p>
      )}
      <textarea aria-label="Token" rows={4} value={value} onInput={(e) => setValue((e.target as HTMLTextAreaElement).value)} />
      <button type="submit">Sign in</button>
    </form>
  );
}

function App() {
  const [session, setSession] = useState<Session>({ state: 'checking' });
  const [routes, setRoutes] = useState<Set<string>>(new Set());
  const [namespace, setNamespace] = useState(sessionStorage.getItem('canaryd.namespace') ?? '');
  const hash = useHash();

  const check = async () => {
    try {
      const me = await get<{ username: string }>('/api/v1/whoami');
      setSession({ state: 'signed-in', username: me.username });
    } catch (error) {
      const reason = error instanceof ApiRefusal && token.get() ? error.message : undefined;
      if (error instanceof ApiRefusal && error.status === 401) token.clear();
      setSession({ state: 'signed-out', ...(reason ? { reason } : {}) });
    }
  };
  useEffect(() => {
    void check();
    void operationRoutes().then(setRoutes, () => setRoutes(new Set()));
  }, []);

  if (session.state === 'checking') return <p>Checking the session…</p>;
  if (session.state === 'signed-out') {
    return (
      <SignIn
        {...(session.reason ? { reason: session.reason } : {})}
        onToken={(value) => {
          token.set(value);
          forgetCache();
          void check();
        }}
      />
    );
  }
  const release = /^#\/r\/([^/]+)\/([^/]+)$/.exec(hash);
  return (
    <>
      <header>
        <h1>
          <a href="#/">canaryd</a>
        </h1>
        <label>
          Namespace{' '}
          <input
            aria-label="Namespace"
            placeholder="all"
            value={namespace}
            onChange={(e) => {
              const value = (e.target as HTMLInputElement).value.trim();
              sessionStorage.setItem('canaryd.namespace', value);
              setNamespace(value);
            }}
          />
        </label>
        <span class="user" data-testid="user">
          {session.username}
        </span>
        <button
          type="button"
          onClick={() => {
            token.clear();
            forgetCache();
            setSession({ state: 'signed-out' });
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        {release?.[1] && release[2] ? (
          <Release namespace={decodeURIComponent(release[1])} name={decodeURIComponent(release[2])} routes={routes} />
        ) : (
          <ReleaseList namespace={namespace} />
        )}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
