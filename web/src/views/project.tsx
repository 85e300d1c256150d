import { useState } from 'preact/hooks';
import { TRANSITIONS, type UserAction } from '../../../src/domain/project-lifecycle.js';
import { api } from '../lib/api.js';
import { money, tokens } from '../lib/format.js';
import { useApi, useCoalescer, useLive } from '../lib/hooks.js';
import {
  type EventKind,
  type Integration,
  PHASES,
  type ProjectDetail,
  type ProjectStatus,
  type ProviderWait,
} from '../lib/types.js';
import { AgentsView } from './agents.js';
import { ErrorNote, StatusBadge } from './common.js';
import { CostView } from './cost.js';
import { Kanban } from './kanban.js';
import { LogsView } from './logs.js';
import { PrdView } from './prd.js';

/** Events that change every running project's detail (the provider's wait), whichever project they name. */
const PROVIDER_EVENTS: readonly EventKind[] = ['provider.waiting', 'provider.recovered'];

const TABS: Array<[string, string]> = [
  ['tasks', 'Tasks'],
  ['agents', 'Agents'],
  ['logs', 'Logs'],
  ['prd', 'PRD'],
  ['cost', 'Cost'],
];

/** The buttons; which are enabled comes from the server's own lifecycle table. */
const CONTROLS: Array<{ action: UserAction; text: string; from: readonly string[]; confirm?: string }> = [
  { action: 'start', text: 'Start' },
  { action: 'pause', text: 'Pause' },
  { action: 'resume', text: 'Resume' },
  { action: 'cancel', text: 'Cancel', confirm: 'Cancel this project? Tasks not yet started are cancelled.' },
  { action: 'archive', text: 'Archive', confirm: 'Archive this project? It becomes read-only.' },
].map((c) => ({ ...c, action: c.action as UserAction, from: TRANSITIONS[c.action as UserAction].from }));

export function ProjectView({
  id,
  tab,
  sub,
  canWrite,
}: {
  id: string;
  tab: string;
  sub: string | null;
  canWrite: boolean;
}) {
  const project = useApi<ProjectDetail>(`/api/projects/${id}`);
  const [actionError, setActionError] = useState<Error | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const refresh = useCoalescer<string>(async () => {
    const p = await api<ProjectDetail>(`/api/projects/${id}`);
    project.set(() => p);
  });
  useLive((e) => {
    if (e.project_id === id || PROVIDER_EVENTS.includes(e.kind)) refresh(id);
  });
  const p = project.data;

  const act = async (action: string, confirmText?: string) => {
    if (confirmText && !confirm(confirmText)) return;
    setBusy(action);
    setActionError(null);
    try {
      await api(`/api/projects/${id}/${action}`, {
        method: 'POST',
        body: {},
      });
      refresh(id);
    } catch (err) {
      setActionError(err as Error);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section aria-labelledby="project-title" data-project-id={id}>
      <ErrorNote error={project.error} />
      <div class="project-head">
        <div>
          <p class="crumbs">
            <a href="/ui/">Projects</a> /
          </p>
          <h1 id="project-title">{p?.name ?? ' '}</h1>
          <p class="muted small url">{p ? `${p.git_url}${p.working_path ? ` · ${p.working_path}` : ''}` : ' '}</p>
          {p?.clone?.state === 'cloning' && <p class="muted small">Cloning the repository on the server…</p>}
          {p?.clone?.state === 'failed' && (
            <p class="error small" role="alert">
              The clone failed: {p.clone.error ?? 'unknown error'}
            </p>
          )}
        </div>
        <dl class="stats">
          <div>
            <dt>Status</dt>
            <dd data-project-status={p?.status}>{p ? <StatusBadge status={p.status} /> : ' '}</dd>
          </div>
          <div>
            <dt>Tasks</dt>
            <dd class="num">
              {p ? `${(p.task_counts.completed ?? 0) + (p.task_counts.cancelled ?? 0)}/${p.tasks_total}` : ' '}
            </dd>
          </div>
          <div>
            <dt>Tokens</dt>
            <dd class="num">{p ? tokens(p.tokens_total) : ' '}</dd>
          </div>
          <div>
            <dt>Cost</dt>
            <dd class="num">{p ? money(p.cost_usd) : ' '}</dd>
          </div>
        </dl>
      </div>
      {p?.status_reason && <p class="muted small">{p.status_reason}</p>}
      {p?.provider_wait && <ProviderBanner wait={p.provider_wait} />}
      {p?.integration && <IntegrationPanel integration={p.integration} />}
      {canWrite && p && (
        <fieldset class="controls">
          <legend class="sr-only">Project controls</legend>
          {CONTROLS.map((c) => (
            <button
              key={c.action}
              type="button"
              class={
                c.action === 'cancel'
                  ? 'btn-danger'
                  : c.action === 'start' || c.action === 'resume'
                    ? 'btn-primary'
                    : ''
              }
              disabled={!c.from.includes(p.status) || busy !== null}
              onClick={() => act(c.action, c.confirm)}
            >
              {busy === c.action ? `${c.text}…` : c.text}
            </button>
          ))}
        </fieldset>
      )}
      <ErrorNote error={actionError} />
      <PhaseTimeline phase={p?.phase ?? null} status={p?.status ?? null} config={p} />
      <nav class="tabs" aria-label="Project views">
        {TABS.map(([t, text]) => (
          <a key={t} href={`/ui/projects/${id}/${t}`} aria-current={tab === t ? 'page' : undefined}>
            {text}
          </a>
        ))}
      </nav>
      <div class="tab-body">
        {tab === 'tasks' && <Kanban projectId={id} openTaskId={sub} canWrite={canWrite} />}
        {tab === 'agents' && <AgentsView projectId={id} />}
        {tab === 'logs' && <LogsView projectId={id} runId={sub} />}
        {tab === 'prd' && p && <PrdView key={p.id} project={p} canWrite={canWrite} onSaved={() => refresh(id)} />}
        {tab === 'cost' && <CostView projectId={id} />}
      </div>
    </section>
  );
}

function PhaseTimeline({
  phase,
  status,
  config,
}: {
  phase: string | null;
  status: ProjectStatus | null;
  config: ProjectDetail | undefined;
}) {
  const cur = phase ? PHASES.indexOf(phase as (typeof PHASES)[number]) : -1;
  const finished = status === 'completed' || status === 'archived';
  void config;
  return (
    <ol class="timeline" aria-label="Phases">
      {PHASES.map((ph, i) => {
        const state = finished && i <= cur ? 'done' : i < cur ? 'done' : i === cur ? 'current' : 'todo';
        return (
          <li key={ph} class={`ph-${state}`} aria-current={state === 'current' ? 'step' : undefined}>
            <span class="ph-dot" aria-hidden="true" />
            <span class="ph-name">{ph}</span>
            <span class="sr-only">{state === 'done' ? ' (done)' : state === 'current' ? ' (current)' : ''}</span>
          </li>
        );
      })}
    </ol>
  );
}

const TROUBLE: Record<ProviderWait['kind'], string> = {
  rate_limit: 'rate limited',
  overloaded: 'overloaded',
  server_error: 'server errors',
};

/** "Waiting for the provider until 14:05 (overloaded)", in the viewer's time zone. */
function ProviderBanner({ wait }: { wait: ProviderWait }) {
  const until = new Date(wait.until);
  const hhmm = until.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const text =
    until.getTime() > Date.now()
      ? `Waiting for the provider until ${hhmm} (${TROUBLE[wait.kind]})`
      : `Waiting for the provider (${TROUBLE[wait.kind]}; one call is probing it)`;
  return (
    <p class="banner-warn" role="status" data-provider-wait={wait.kind} title={wait.reason}>
      {text} · {wait.failures} failed call(s) since{' '}
      {new Date(wait.since).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
    </p>
  );
}

const QUEUE_STATE: Record<Integration['queue'][number]['state'], string> = {
  waiting: 'waiting',
  merging: 'merging',
  sent_back: 'sent back',
};

/** Where the product is: the integration branch and its head, how verify judged it, and the merge queue. */
function IntegrationPanel({ integration: i }: { integration: Integration }) {
  const v = i.verify;
  const verdict = !v
    ? 'not verified at this head yet'
    : v.status === 'passed'
      ? `verify passed (${v.commands.join(', ')})`
      : v.status === 'unverified'
        ? 'unverified: no verify command configured or found'
        : `verify failed: ${v.summary.split('\n')[0]}`;
  return (
    <section class="integration" aria-label="Integration branch" data-integration-status={v?.status ?? 'none'}>
      <p>
        <strong>Product</strong> <code>{i.branch}</code>
        {i.head && (
          <>
            {' '}
            at <code>{i.head.slice(0, 12)}</code>
          </>
        )}{' '}
        · <span class={v?.status === 'passed' ? 'ok' : v?.status === 'failed' ? 'error' : 'warn'}>{verdict}</span>
      </p>
      {i.queue.length > 0 && (
        <ul class="merge-queue" aria-label="Merge queue">
          {i.queue.map((e) => (
            <li key={e.task_id} data-merge-state={e.state}>
              <span class={e.state === 'sent_back' ? 'warn' : 'muted'}>{QUEUE_STATE[e.state]}</span> {e.key}
              {e.note && <span class="muted small"> · {e.note}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
