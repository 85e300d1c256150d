import { useEffect, useRef, useState } from 'preact/hooks';
import { all, api } from '../lib/api.js';
import { duration, label, money, tokens } from '../lib/format.js';
import { useApi, useCoalescer, useLive, useResource } from '../lib/hooks.js';
import { navigate } from '../lib/router.js';
import {
  type EventKind,
  RETRYABLE_TASK_STATUSES,
  type Requirement,
  type Task,
  type TaskDetail,
  type TaskStatus,
} from '../lib/types.js';
import { ErrorNote, StatusBadge } from './common.js';
import { VerifyVerdict } from './verify.js';

type ColumnId = Exclude<TaskStatus, 'queued' | 'cancelled'>;

const COLUMNS: ReadonlyArray<{ id: ColumnId; title: string }> = [
  { id: 'pending', title: 'Pending' },
  { id: 'blocked', title: 'Blocked' },
  { id: 'running', title: 'Running' },
  { id: 'completed', title: 'Completed' },
  { id: 'failed', title: 'Failed' },
  { id: 'dead_letter', title: 'Dead letter' },
];

/**
 * The column of each task status, so a status added on the server does not
 * compile here until it is placed. A queued task is still waiting to the
 * reader; cancelled tasks are only counted.
 */
const COLUMN_OF: Readonly<Record<TaskStatus, ColumnId | null>> = {
  pending: 'pending',
  queued: 'pending',
  blocked: 'blocked',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  dead_letter: 'dead_letter',
  cancelled: null,
};

/** Events about a project that change many of its tasks at once (task events refresh their own card). */
const RELOAD_ON: readonly EventKind[] = ['project.reconciled'];

export function Kanban({
  projectId,
  openTaskId,
  canWrite,
}: {
  projectId: string;
  openTaskId: string | null;
  canWrite: boolean;
}) {
  const [filter, setFilter] = useState('');
  const list = useResource<Task[]>(`tasks:${projectId}`, () => all<Task>(`/api/projects/${projectId}/tasks`));
  const refresh = useCoalescer<string>(async (tid) => {
    let t: Task | null = null;
    try {
      t = await api<TaskDetail>(`/api/projects/${projectId}/tasks/${tid}`);
    } catch {
      t = null;
    }
    list.set((prev) => {
      if (!prev) return prev;
      const i = prev.findIndex((x) => x.id === tid);
      if (!t) return i < 0 ? prev : prev.filter((x) => x.id !== tid);
      const next = prev.slice();
      if (i < 0) next.push(t);
      else next[i] = t;
      return next;
    });
  });
  useLive((e) => {
    if (e.project_id !== projectId) return;
    if (e.subject_type === 'task' && e.subject_id) refresh(e.subject_id);
    else if (RELOAD_ON.includes(e.kind)) void list.reload();
  });

  const q = filter.trim().toLowerCase();
  const tasks = (list.data ?? []).filter(
    (t) => !q || t.title.toLowerCase().includes(q) || t.key.toLowerCase().includes(q) || t.agent_type.includes(q),
  );
  const cancelled = tasks.filter((t) => COLUMN_OF[t.status] === null).length;

  return (
    <div>
      <div class="head-row">
        <h2 id="kanban-title">Tasks</h2>
        <label class="inline">
          <span>Filter</span>
          <input
            type="search"
            value={filter}
            placeholder="title, key or agent type"
            onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
      <ErrorNote error={list.error} />
      <div class="kanban">
        {COLUMNS.map((col) => {
          const items = tasks.filter((t) => COLUMN_OF[t.status] === col.id);
          return (
            <section
              key={col.id}
              class={`col col-${col.id}`}
              aria-label={`${col.title}: ${items.length}`}
              data-column={col.id}
            >
              <h3>
                {col.title} <span class="count num">{items.length}</span>
              </h3>
              <ul>
                {items.slice(0, 200).map((t) => (
                  <li key={t.id}>
                    <a
                      class="task-card"
                      href={`/ui/projects/${projectId}/tasks/${t.id}`}
                      data-task-id={t.id}
                      data-status={t.status}
                      aria-current={openTaskId === t.id ? 'true' : undefined}
                    >
                      <span class="t-title">{t.title}</span>
                      <span class="t-meta">
                        <span>{t.agent_type}</span>
                        <span>{t.phase}</span>
                        {t.rarv_step && t.status === 'running' && <span class="step">{t.rarv_step}</span>}
                      </span>
                      <span class="t-meta num">
                        <span>
                          try {t.attempts}/{t.max_attempts}
                        </span>
                        <span>{money(t.cost_usd)}</span>
                        {t.pr_number && <span>PR #{t.pr_number}</span>}
                      </span>
                    </a>
                  </li>
                ))}
                {items.length > 200 && <li class="muted small">…and {items.length - 200} more (use the filter)</li>}
              </ul>
            </section>
          );
        })}
      </div>
      {cancelled > 0 && <p class="muted small">{cancelled} cancelled tasks are not shown.</p>}
      {openTaskId && (
        <TaskDrawer
          projectId={projectId}
          taskId={openTaskId}
          canWrite={canWrite}
          onClose={() => navigate(`/ui/projects/${projectId}/tasks`)}
          onChanged={() => refresh(openTaskId)}
        />
      )}
    </div>
  );
}

function Json({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  if (typeof value === 'string') return <pre class="out">{value}</pre>;
  const text = JSON.stringify(value, null, 2);
  return <pre class="out">{text.length > 20_000 ? `${text.slice(0, 20_000)}\n…` : text}</pre>;
}

function verifyOutput(t: TaskDetail): unknown {
  const steps = t.rarv_steps.filter((s) => s.step === 'verify');
  return steps.length ? steps[steps.length - 1]!.output : null;
}

function TaskDrawer({
  projectId,
  taskId,
  canWrite,
  onClose,
  onChanged,
}: {
  projectId: string;
  taskId: string;
  canWrite: boolean;
  onClose: () => void;
  onChanged: () => void;
}) {
  const task = useApi<TaskDetail>(`/api/projects/${projectId}/tasks/${taskId}`);
  const reqId = task.data?.requirement_id ?? null;
  const req = useApi<Requirement>(reqId ? `/api/ui/requirements/${reqId}` : null);
  const [err, setErr] = useState<Error | null>(null);
  const ref = useRef<HTMLDialogElement>(null);
  const refresh = useCoalescer<string>(async () => {
    const t = await api<TaskDetail>(`/api/projects/${projectId}/tasks/${taskId}`);
    task.set(() => t);
  });
  useLive((e) => {
    if (e.subject_id === taskId) refresh(taskId);
  });
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const t = task.data;
  const retry = async () => {
    setErr(null);
    try {
      await api(`/api/projects/${projectId}/tasks/${taskId}/retry`, { method: 'POST', body: {} });
      refresh(taskId);
      onChanged();
    } catch (e) {
      setErr(e as Error);
    }
  };
  return (
    <dialog ref={ref} class="drawer" aria-labelledby="task-title" onClose={onClose} onCancel={onClose}>
      <div class="drawer-head">
        <h2 id="task-title">{t?.title ?? 'Task'}</h2>
        <button type="button" class="btn-ghost" onClick={() => ref.current?.close()} aria-label="Close task detail">
          ✕
        </button>
      </div>
      <ErrorNote error={task.error ?? err} />
      {t && (
        <div class="drawer-body" data-task-detail={t.id} data-status={t.status}>
          <dl class="kv">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={t.status} />{' '}
              {t.rarv_step && (
                <span class="step">
                  {t.rarv_step} (loop {t.rarv_loop})
                </span>
              )}
            </dd>
            <dt>Key</dt>
            <dd class="mono">{t.key}</dd>
            <dt>Agent</dt>
            <dd>
              {t.agent_type} · {t.phase}
            </dd>
            <dt>Attempts</dt>
            <dd class="num">
              {t.attempts} of {t.max_attempts}
            </dd>
            <dt>Tokens / cost</dt>
            <dd class="num">
              {tokens(t.tokens_used)} · {money(t.cost_usd)}
            </dd>
            <dt>Duration</dt>
            <dd class="num">{t.duration_ms !== null ? duration(t.duration_ms) : '—'}</dd>
            <dt>Verify</dt>
            <dd>
              <VerifyVerdict task={t} />
            </dd>
            <dt>Branch</dt>
            <dd class="mono">{t.branch ?? '—'}</dd>
            <dt>Pull request</dt>
            <dd>
              {t.pr_url ? (
                <a href={t.pr_url} target="_blank" rel="noopener noreferrer">
                  #{t.pr_number ?? ''} {t.pr_url}
                </a>
              ) : (
                '—'
              )}
            </dd>
          </dl>
          {canWrite && (RETRYABLE_TASK_STATUSES as readonly TaskStatus[]).includes(t.status) && (
            <button type="button" class="btn-primary" onClick={retry}>
              Retry task
            </button>
          )}
          <h3>Requirement</h3>
          {req.data ? (
            <div class="req">
              <p>
                <strong class="mono">{req.data.key}</strong> {req.data.title}{' '}
                {req.data.priority && <span class="badge">{req.data.priority}</span>}
              </p>
              <pre class="out">{req.data.body}</pre>
            </div>
          ) : (
            <p class="muted">{reqId ? 'Loading…' : t.description || 'No requirement linked.'}</p>
          )}
          {t.dependencies.length > 0 && (
            <>
              <h3>Depends on</h3>
              <ul class="deps">
                {t.dependencies.map((d) => (
                  <li key={d.id}>
                    <a href={`/ui/projects/${projectId}/tasks/${d.id}`}>{d.title}</a> <StatusBadge status={d.status} />
                  </li>
                ))}
              </ul>
            </>
          )}
          <h3>RARV steps</h3>
          {t.rarv_steps.length === 0 && <p class="muted">No steps yet.</p>}
          <ol class="steps">
            {t.rarv_steps.map((s) => (
              <li key={s.id} class={`st-${s.status}`}>
                <details>
                  <summary>
                    <span class="step">{s.step}</span> loop {s.loop} · {label(s.status)}
                    <span class="num muted">
                      {' '}
                      {tokens(s.input_tokens + s.output_tokens)} tok · {money(s.cost_usd)}
                    </span>
                  </summary>
                  <Json value={s.output} />
                </details>
              </li>
            ))}
          </ol>
          <h3>Verify output</h3>
          <Json value={verifyOutput(t)} />
          {t.error !== null && t.error !== undefined && (
            <>
              <h3>Error</h3>
              <Json value={t.error} />
            </>
          )}
          {t.agent_runs.length > 0 && (
            <>
              <h3>Agent runs</h3>
              <ul class="deps">
                {t.agent_runs.map((r) => (
                  <li key={r.id}>
                    <a href={`/ui/projects/${projectId}/logs/${r.id}`}>
                      {r.agent_type} attempt {r.attempt}
                    </a>{' '}
                    · {label(r.status)} · {r.model ?? ''} · <span class="num">{tokens(r.total_tokens)} tok</span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
    </dialog>
  );
}
