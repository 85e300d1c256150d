import { api } from '../lib/api.js';
import { duration, label, money, tokens } from '../lib/format.js';
import { useCoalescer, useLive, useResource, useTick } from '../lib/hooks.js';
import type { UiAgent } from '../lib/types.js';
import { Empty, ErrorNote } from './common.js';

const STEPS = ['reason', 'act', 'reflect', 'verify'];

export function AgentsView({ projectId }: { projectId: string | null }) {
  const base = `/api/ui/agents${projectId ? `?project_id=${projectId}` : ''}`;
  const list = useResource<UiAgent[]>(base, async () => (await api<{ data: UiAgent[] }>(base)).data);
  const refresh = useCoalescer<string>(async (id) => {
    const { data } = await api<{ data: UiAgent[] }>(`/api/ui/agents?id=${id}`);
    const row = data[0];
    if (!row) return;
    list.set((prev) => {
      if (!prev) return prev;
      const i = prev.findIndex((a) => a.id === id);
      if (i < 0) return [row, ...prev];
      const next = prev.slice();
      next[i] = row;
      return next;
    });
  });
  useLive((e) => {
    if (projectId && e.project_id !== projectId) return;
    if (e.subject_type === 'agent_run' && e.subject_id) refresh(e.subject_id);
    else if (e.subject_type === 'task' || e.subject_type === 'runner') {
      // A task event may move its agent to another step; refresh the runs on it.
      for (const a of list.data ?? []) if (a.task_id === e.subject_id && !a.ended_at) refresh(a.id);
    }
  });
  const rows = list.data ?? [];
  const active = rows.some((a) => !a.ended_at);
  const now = useTick(1000, active);

  return (
    <section aria-labelledby="agents-title">
      <h2 id="agents-title">{projectId ? 'Agents' : 'Agents at work'}</h2>
      <ErrorNote error={list.error} />
      {list.data && rows.length === 0 && <Empty>No agent runs yet.</Empty>}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table class="agents">
            <caption class="sr-only">
              Agent runs: type, task, RARV step, model, runner host, elapsed time and tokens
            </caption>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                {!projectId && <th scope="col">Project</th>}
                <th scope="col">Task</th>
                <th scope="col">Step</th>
                <th scope="col">Model</th>
                <th scope="col">Runner</th>
                <th scope="col" class="r">
                  Elapsed
                </th>
                <th scope="col" class="r">
                  Tokens
                </th>
                <th scope="col" class="r">
                  Cost
                </th>
                <th scope="col">
                  <span class="sr-only">Logs</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => {
                const elapsed = a.ended_at ? a.elapsed_ms : Math.max(a.elapsed_ms, now - Date.parse(a.started_at));
                return (
                  <tr key={a.id} data-agent-id={a.id} data-status={a.status} class={a.ended_at ? 'ended' : ''}>
                    <th scope="row" data-label="Agent">
                      {a.agent_type}
                      <div class="muted small">try {a.attempt}</div>
                    </th>
                    {!projectId && (
                      <td data-label="Project">
                        <a href={`/ui/projects/${a.project_id}/agents`}>{a.project_name}</a>
                      </td>
                    )}
                    <td data-label="Task">
                      {a.task_id ? (
                        <a href={`/ui/projects/${a.project_id}/tasks/${a.task_id}`}>{a.task_title ?? a.task_key}</a>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td data-label="Step">
                      <StepPips status={a.status} loop={a.rarv_loop} />
                    </td>
                    <td data-label="Model" class="mono small">
                      {a.model ?? '—'}
                    </td>
                    <td data-label="Runner">
                      {a.runner_host ?? a.node}
                      {a.runner_name && <div class="muted small">{a.runner_name}</div>}
                      {a.runner_sandbox && (
                        <div
                          class={`small ${a.runner_sandbox === 'bubblewrap' ? 'muted' : 'warn'}`}
                          data-sandbox={a.runner_sandbox}
                        >
                          {a.runner_sandbox === 'bubblewrap' ? 'sandboxed' : 'not sandboxed'}
                        </div>
                      )}
                    </td>
                    <td data-label="Elapsed" class="r num">
                      {duration(elapsed)}
                    </td>
                    <td data-label="Tokens" class="r num">
                      {tokens(a.total_tokens)}
                    </td>
                    <td data-label="Cost" class="r num">
                      {money(a.cost_usd)}
                    </td>
                    <td class="r">
                      <a
                        href={`/ui/projects/${a.project_id}/logs/${a.id}`}
                        aria-label={`Logs of ${a.agent_type} on ${a.task_title ?? 'its task'}`}
                      >
                        Logs
                      </a>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function StepPips({ status, loop }: { status: string; loop: number | null }) {
  const i = STEPS.indexOf(status);
  if (i < 0) return <span class={`badge s-${status}`}>{label(status)}</span>;
  return (
    <span class="pips" title={`RARV step ${status}${loop !== null ? `, loop ${loop}` : ''}`}>
      {STEPS.map((s, j) => (
        <span key={s} class={j < i ? 'pip done' : j === i ? 'pip cur' : 'pip'} aria-hidden="true" />
      ))}
      <span class="step">{status}</span>
    </span>
  );
}
