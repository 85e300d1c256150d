import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, onSignedOut } from './lib/api.js';
import { type LiveState, onLiveState, startLive, stopLive } from './lib/live.js';
import { navigate, onLinkClick, usePath } from './lib/router.js';
import './styles.css';
import { AgentsView } from './views/agents.js';
import { CostView } from './views/cost.js';
import { ProjectView } from './views/project.js';
import { ProjectsView } from './views/projects.js';
import { SignIn } from './views/signin.js';

interface Session {
  name: string | null;
  scope: 'read' | 'write' | null;
}

function LiveBadge() {
  const [s, setS] = useState<LiveState>('closed');
  useEffect(() => onLiveState(setS), []);
  const text = s === 'open' ? 'Live' : s === 'connecting' ? 'Reconnecting…' : 'Offline';
  return (
    <span class={`live live-${s}`} role="status" aria-live="polite" data-live={s}>
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

function Nav({ path, session, onSignOut }: { path: string; session: Session; onSignOut: () => void }) {
  const item = (href: string, text: string, active: boolean) => (
    <li>
      <a href={href} aria-current={active ? 'page' : undefined}>
        {text}
      </a>
    </li>
  );
  return (
    <header class="top">
      <a class="brand" href="/ui/">
        Samgita
      </a>
      <nav aria-label="Main">
        <ul>
          {item('/ui/', 'Projects', path === '/ui/' || path === '/ui' || path.startsWith('/ui/projects'))}
          {item('/ui/agents', 'Agents', path.startsWith('/ui/agents'))}
          {item('/ui/cost', 'Cost', path.startsWith('/ui/cost'))}
        </ul>
      </nav>
      <div class="top-right">
        <LiveBadge />
        <span class="who" title={`API key ${session.name ?? ''} (${session.scope ?? ''})`}>
          {session.name} · {session.scope}
        </span>
        <button type="button" class="btn-ghost" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

function App() {
  const path = usePath();
  const [session, setSession] = useState<Session | null | undefined>(undefined);

  useEffect(() => {
    api<Session>('/api/session')
      .then(setSession)
      .catch(() => setSession(null));
    return onSignedOut(() => {
      stopLive();
      setSession(null);
    });
  }, []);

  useEffect(() => {
    if (session) startLive(() => setSession(null));
  }, [session]);

  useEffect(() => {
    const title = path.startsWith('/ui/agents')
      ? 'Agents'
      : path.startsWith('/ui/cost')
        ? 'Cost'
        : path.startsWith('/ui/projects')
          ? 'Project'
          : 'Projects';
    document.title = `${title} · Samgita`;
  }, [path]);

  if (session === undefined) return <main class="loading" aria-busy="true" />;
  if (session === null) return <SignIn onSignedIn={(s) => setSession(s)} />;

  const signOut = () => {
    stopLive();
    void api('/api/session', { method: 'DELETE' }).finally(() => {
      setSession(null);
      navigate('/ui/');
    });
  };
  const canWrite = session.scope === 'write';
  let view: preact.JSX.Element;
  const m = /^\/ui\/projects\/([0-9a-f-]{36})(?:\/([a-z]+))?(?:\/([0-9a-f-]{36}))?/.exec(path);
  if (m) view = <ProjectView key={m[1]} id={m[1]!} tab={m[2] ?? 'tasks'} sub={m[3] ?? null} canWrite={canWrite} />;
  else if (path.startsWith('/ui/agents')) view = <AgentsView projectId={null} />;
  else if (path.startsWith('/ui/cost')) view = <CostView projectId={null} />;
  else view = <ProjectsView canWrite={canWrite} />;

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: delegated link routing; links stay real links
    // biome-ignore lint/a11y/useKeyWithClickEvents: the links inside handle the keyboard themselves
    <div class="shell" onClick={(e) => onLinkClick(e as unknown as MouseEvent)}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Nav path={path} session={session} onSignOut={signOut} />
      <main id="main" tabIndex={-1}>
        {view}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
