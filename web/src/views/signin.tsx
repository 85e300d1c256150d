import { useState } from 'preact/hooks';
import { ApiError, api } from '../lib/api.js';

export function SignIn({ onSignedIn }: { onSignedIn: (s: { name: string; scope: 'read' | 'write' }) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(
        await api<{ name: string; scope: 'read' | 'write' }>('/api/session', { method: 'POST', body: { key } }),
      );
    } catch (err) {
      setError(err instanceof ApiError ? `${err.message}${err.hint ? `. ${err.hint}` : ''}` : 'sign-in failed');
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <form onSubmit={submit} class="card" aria-labelledby="signin-title">
        <h1 id="signin-title">Samgita</h1>
        <p class="muted">Sign in with an API key. Create one on the server with</p>
        <pre class="cmd">samgita keys create --name me --scope write</pre>
        <label for="key">API key</label>
        <input
          id="key"
          name="key"
          type="password"
          autocomplete="current-password"
          spellcheck={false}
          required
          placeholder="sg_…"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'signin-error' : undefined}
        />
        <p id="signin-error" class="error" role="alert">
          {error ?? ''}
        </p>
        <button type="submit" class="btn-primary" disabled={busy || !key.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">
          The key is exchanged for a session (12 h, ended by signing out or revoking the key); neither this page nor its
          cookie keeps the key.
        </p>
      </form>
    </main>
  );
}
