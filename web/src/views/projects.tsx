import { useEffect, useState } from 'preact/hooks';
import { TRANSITIONS } from '../../../src/domain/project-lifecycle.js';
import { ApiError, api } from '../lib/api.js';
import { money, tokens } from '../lib/format.js';
import { useCoalescer, useLive, useResource } from '../lib/hooks.js';
import { navigate } from '../lib/router.js';
import type { UiProject } from '../lib/types.js';
import { Empty, ErrorNote, Progress, StatusBadge } from './common.js';

/** Which rows offer Archive comes from the server's own lifecycle table. */
const ARCHIVABLE = TRANSITIONS.archive.from;

export function ProjectsView({ canWrite }: { canWrite: boolean }) {
  const [showArchived, setShowArchived] = useState(false);
  const list = useResource<UiProject[]>(
    `projects:${showArchived}`,
    async () => (await api<{ data: UiProject[] }>(`/api/ui/projects?include_archived=${showArchived}`)).data,
  );
  const refresh = useCoalescer<string>(async (id) => {
    const { data } = await api<{ data: UiProject[] }>(`/api/ui/projects?id=${id}`);
    const row = data[0];
    list.set((prev) => {
      if (!prev) return prev;
      const i = prev.findIndex((p) => p.id === id);
      if (!row) return i < 0 ? prev : prev.filter((p) => p.id !== id);
      if (row.status === 'archived' && !showArchived) return prev.filter((p) => p.id !== id);
      if (i < 0) return [row, ...prev];
      const next = prev.slice();
      next[i] = row;
      return next;
    });
  });
  useLive((e) => {
    if (e.project_id) refresh(e.project_id);
  });

  const archive = async (p: UiProject) => {
    if (!confirm(`Archive ${p.name}? It becomes read-only.`)) return;
    try {
      await api(`/api/projects/${p.id}/archive`, { method: 'POST', body: {} });
      refresh(p.id);
    } catch (err) {
      alert((err as Error).message);
    }
  };

  return (
    <section aria-labelledby="projects-title">
      <div class="head-row">
        <h1 id="projects-title">Projects</h1>
        <label class="check">
          <input
            type="checkbox"
            checked={showArchived}
            onChange={(e) => setShowArchived((e.target as HTMLInputElement).checked)}
          />
          Show archived
        </label>
      </div>
      {canWrite && <CreateProject onCreated={(id) => navigate(`/ui/projects/${id}/prd`)} />}
      <ErrorNote error={list.error} />
      {list.data && list.data.length === 0 && (
        <Empty>No projects yet. Create one above, or run `samgita run .` in a repository.</Empty>
      )}
      {list.data && list.data.length > 0 && (
        <div class="table-wrap">
          <table class="projects">
            <caption class="sr-only">Projects with status, phase, progress and cost</caption>
            <thead>
              <tr>
                <th scope="col">Project</th>
                <th scope="col">Status</th>
                <th scope="col">Phase</th>
                <th scope="col">Progress</th>
                <th scope="col" class="r">
                  Agents
                </th>
                <th scope="col" class="r">
                  Tokens
                </th>
                <th scope="col" class="r">
                  Cost
                </th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((p) => (
                <tr key={p.id} data-project-id={p.id} data-status={p.status}>
                  <th scope="row" data-label="Project">
                    <a href={`/ui/projects/${p.id}/tasks`}>{p.name}</a>
                    <div class="muted small url">{p.git_url}</div>
                  </th>
                  <td data-label="Status">
                    <StatusBadge status={p.status} />
                  </td>
                  <td data-label="Phase">{p.phase}</td>
                  <td data-label="Progress">
                    <Progress done={p.tasks_done} total={p.tasks_total} label={`${p.name} progress`} />
                    {p.tasks_failed > 0 && <div class="small warn">{p.tasks_failed} failed</div>}
                  </td>
                  <td data-label="Agents" class="r num">
                    {p.agents_active}
                  </td>
                  <td data-label="Tokens" class="r num">
                    {tokens(p.tokens_total)}
                  </td>
                  <td data-label="Cost" class="r num" data-cost>
                    {money(p.cost_usd)}
                  </td>
                  <td class="r">
                    {canWrite && ARCHIVABLE.includes(p.status) && (
                      <button
                        type="button"
                        class="btn-small"
                        onClick={() => archive(p)}
                        aria-label={`Archive ${p.name}`}
                      >
                        Archive
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface Suggest {
  detected: string | null;
  clone_to: string;
  suggestions: Array<{ path: string; origin: string | null }>;
}

function CreateProject({ onCreated }: { onCreated: (id: string) => void }) {
  const [name, setName] = useState('');
  const [gitUrl, setGitUrl] = useState('');
  const [workingPath, setWorkingPath] = useState('');
  const [clone, setClone] = useState(true);
  const [suggest, setSuggest] = useState<Suggest | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const t = setTimeout(() => {
      const q = new URLSearchParams();
      if (gitUrl.trim()) q.set('git_url', gitUrl.trim());
      if (name.trim()) q.set('name', name.trim());
      api<Suggest>(`/api/ui/repos/suggest?${q}`)
        .then(setSuggest)
        .catch(() => setSuggest(null));
    }, 250);
    return () => clearTimeout(t);
  }, [gitUrl, name]);

  const pickSuggestion = (path: string) => {
    setWorkingPath(path);
    const s = suggest?.suggestions.find((x) => x.path === path);
    if (s?.origin && !gitUrl) setGitUrl(s.origin);
    if (!name) setName(path.split('/').pop() ?? '');
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { name: name.trim(), git_url: gitUrl.trim(), clone };
      if (workingPath.trim()) body.working_path = workingPath.trim();
      const p = await api<{ id: string }>('/api/projects', { method: 'POST', body });
      onCreated(p.id);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'ERROR', String(err)));
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (f: string) =>
    error?.field === f ? (
      <span class="error" id={`err-${f}`}>
        {error.message}
      </span>
    ) : null;

  return (
    <details class="card create">
      <summary>New project</summary>
      <form onSubmit={submit} class="grid-form">
        <label for="np-name">Name</label>
        <div>
          <input
            id="np-name"
            required
            maxLength={200}
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
            aria-invalid={error?.field === 'name' ? 'true' : undefined}
          />
          {fieldError('name')}
        </div>
        <label for="np-url">Git URL</label>
        <div>
          <input
            id="np-url"
            required
            placeholder="https://github.com/org/repo.git"
            value={gitUrl}
            spellcheck={false}
            onInput={(e) => setGitUrl((e.target as HTMLInputElement).value)}
            aria-invalid={error?.field === 'git_url' ? 'true' : undefined}
            aria-describedby="np-url-hint"
          />
          <span id="np-url-hint" class="small muted" aria-live="polite">
            {suggest?.detected
              ? `Local clone detected at ${suggest.detected}`
              : gitUrl
                ? clone
                  ? `No local clone found; it will be cloned into ${suggest?.clone_to ?? '…'}`
                  : 'No local clone found'
                : ' '}
          </span>
          {fieldError('git_url')}
        </div>
        <label for="np-path">Local path (optional)</label>
        <div>
          <input
            id="np-path"
            list="np-path-list"
            placeholder={suggest?.detected ?? 'detected automatically'}
            value={workingPath}
            spellcheck={false}
            onInput={(e) => setWorkingPath((e.target as HTMLInputElement).value)}
            onChange={(e) => pickSuggestion((e.target as HTMLInputElement).value)}
          />
          <datalist id="np-path-list">
            {suggest?.suggestions.map((s) => (
              <option key={s.path} value={s.path}>
                {s.origin ?? ''}
              </option>
            ))}
          </datalist>
          {fieldError('working_path')}
        </div>
        <span />
        <label class="check">
          <input type="checkbox" checked={clone} onChange={(e) => setClone((e.target as HTMLInputElement).checked)} />
          Clone when no local copy exists
        </label>
        <span />
        <div>
          {error && !error.field && (
            <p class="error" role="alert">
              {error.message}
            </p>
          )}
          <button type="submit" class="btn-primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create project'}
          </button>
        </div>
      </form>
    </details>
  );
}
