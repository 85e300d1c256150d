import { useState } from 'preact/hooks';
import { ApiError, api } from '../lib/api.js';
import type { PlanPreview, ProjectDetail } from '../lib/types.js';
import { ErrorNote } from './common.js';

export function PrdView({
  project,
  canWrite,
  onSaved,
}: {
  project: ProjectDetail;
  canWrite: boolean;
  onSaved: () => void;
}) {
  const [text, setText] = useState(project.prd_content ?? '');
  const [source, setSource] = useState<'api' | 'upload'>('api');
  const [editing, setEditing] = useState(!project.prd_content);
  const [preview, setPreview] = useState<PlanPreview | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);

  const upload = async (e: Event) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    if (file.size > 1024 * 1024) {
      setError(new Error(`${file.name} is larger than 1 MiB`));
      return;
    }
    setText(await file.text());
    setSource('upload');
    setPreview(null);
    setEditing(true);
  };

  const doPreview = async () => {
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      setPreview(
        await api<PlanPreview>(`/api/ui/projects/${project.id}/prd/preview`, {
          method: 'POST',
          body: { content: text, source },
        }),
      );
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      const rev = await api<{ id: string; created: boolean }>(`/api/ui/projects/${project.id}/prd`, {
        method: 'PUT',
        body: { content: text, source },
      });
      setSaved(
        rev.created
          ? 'Saved as a new PRD revision; the project is re-planned.'
          : 'No change: this is already the current PRD.',
      );
      setPreview(null);
      setEditing(false);
      onSaved();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 409 ? new Error(err.message) : (err as Error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="prd-title" class="prd">
      <div class="head-row">
        <h2 id="prd-title">PRD.md</h2>
        {canWrite && !editing && (
          <button type="button" onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
      </div>
      {project.source === 'github' && (
        <p class="note">This project is driven by the GitHub App: PRD.md lives on its default branch.</p>
      )}
      {!editing &&
        (project.prd_content ? <pre class="prd-text">{project.prd_content}</pre> : <p class="muted">No PRD yet.</p>)}
      {editing && canWrite && (
        <div class="prd-edit">
          <label for="prd-text">PRD text (Markdown)</label>
          <textarea
            id="prd-text"
            rows={20}
            spellcheck={false}
            value={text}
            onInput={(e) => {
              setText((e.target as HTMLTextAreaElement).value);
              setPreview(null);
            }}
          />
          <div class="controls">
            <label class="file">
              <span>Upload a file</span>
              <input type="file" accept=".md,.markdown,.txt,text/markdown,text/plain" onChange={upload} />
            </label>
            <button type="button" class="btn-primary" disabled={busy || !text.trim()} onClick={doPreview}>
              {busy && !preview ? 'Planning…' : 'Preview plan changes'}
            </button>
            <button
              type="button"
              onClick={() => {
                setEditing(false);
                setText(project.prd_content ?? '');
                setPreview(null);
              }}
            >
              Discard
            </button>
          </div>
        </div>
      )}
      <ErrorNote error={error} />
      {saved && (
        <p class="ok" role="status">
          {saved}
        </p>
      )}
      {preview && (
        <section class="card plan" aria-labelledby="plan-title">
          <h3 id="plan-title">Plan changes</h3>
          <p class="num" data-plan-summary>
            <strong>{preview.summary.text}</strong>
          </p>
          {preview.actions.length > 0 && (
            <div class="table-wrap">
              <table class="plan-table">
                <caption class="sr-only">Task changes the new PRD causes</caption>
                <thead>
                  <tr>
                    <th scope="col">Change</th>
                    <th scope="col">Phase</th>
                    <th scope="col">Task</th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {preview.actions.map((a) => (
                    <tr key={`${a.type}:${a.key}`} class={`pa-${a.type}`}>
                      <td>
                        <span class={`badge pa-${a.type}`}>{a.type}</span>
                      </td>
                      <td>{a.phase}</td>
                      <td>
                        <span class="mono small">{a.key}</span>
                        {a.title && <div>{a.title}</div>}
                      </td>
                      <td class="small">
                        {a.agent_type ? `${a.agent_type} · ` : ''}
                        {a.detail}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {preview.warnings.map((w) => (
            <p key={w} class="warn small">
              {w}
            </p>
          ))}
          {preview.save.allowed ? (
            <button type="button" class="btn-primary" disabled={busy} onClick={save}>
              {busy ? 'Saving…' : 'Save PRD and re-plan'}
            </button>
          ) : (
            <p class="note" role="alert">
              {preview.save.message}
            </p>
          )}
        </section>
      )}
    </section>
  );
}
