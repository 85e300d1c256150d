import { createLogUpdate } from 'log-update';
import type pg from 'pg';
import pc from 'picocolors';
import { describeWait } from '../provider/gate.js';
import { readProviderState } from '../store/provider.js';

export interface TaskLine {
  id: string;
  key: string;
  title: string;
  phase: string;
  agent_type: string;
  status: string;
  rarv_step: string | null;
  attempts: number;
  cost_usd: number;
  tokens_used: number;
  started_at: Date | null;
  run_after: Date | null;
  branch: string | null;
  error: { message?: string } | null;
}

export interface ProjectLine {
  id: string;
  name: string;
  phase: string;
  status: string;
  status_reason: string | null;
  cost_usd: number;
  tokens: number;
  /** "waiting for the provider until 14:05 (overloaded)" while a provider outage holds every runner back. */
  provider_wait: string | null;
}

export async function readProgress(
  pool: pg.Pool,
  projectId: string,
): Promise<{ project: ProjectLine; tasks: TaskLine[] }> {
  const p = await pool.query<Omit<ProjectLine, 'provider_wait'>>(
    `select id, name, phase, status, status_reason, cost_usd::float8 as cost_usd,
            (input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) as tokens
       from projects where id = $1`,
    [projectId],
  );
  const provider = await readProviderState(pool);
  const t = await pool.query<TaskLine>(
    `select id, key, title, phase, agent_type, status, rarv_step, attempts, cost_usd::float8 as cost_usd, tokens_used,
            started_at, run_after, branch, error
       from tasks where project_id = $1 order by priority, key`,
    [projectId],
  );
  const waiting = provider.state && p.rows[0]!.status === 'running' ? describeWait(provider.state, provider.now) : null;
  return { project: { ...p.rows[0]!, provider_wait: waiting }, tasks: t.rows };
}

const ICON: Record<string, string> = {
  pending: pc.dim('○'),
  blocked: pc.dim('◌'),
  queued: pc.cyan('◔'),
  running: pc.yellow('◑'),
  completed: pc.green('●'),
  failed: pc.red('✗'),
  dead_letter: pc.red('☠'),
  cancelled: pc.dim('⊘'),
};

export function formatUsd(n: number): string {
  return `$${n.toFixed(n < 1 ? 4 : 2)}`;
}

export function formatTokens(n: number): string {
  return n >= 1_000_000 ? `${(n / 1e6).toFixed(1)}M` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}

function elapsed(since: Date | null, now: number): string {
  if (!since) return '';
  const s = Math.max(0, Math.round((now - since.getTime()) / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** The live terminal view: a header and one line per task (active ones first when the list is long). */
export function renderProgress(
  state: { project: ProjectLine; tasks: TaskLine[] },
  now = Date.now(),
  rows = 20,
): string {
  const { project, tasks } = state;
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const summary = ['completed', 'running', 'queued', 'blocked', 'pending', 'dead_letter', 'cancelled']
    .filter((s) => counts.get(s))
    .map((s) => `${counts.get(s)} ${s.replace('_', ' ')}`)
    .join(' · ');
  const head = `${pc.bold(project.name)}  phase ${pc.cyan(project.phase)}  ${project.status}  ${formatUsd(project.cost_usd)}  ${formatTokens(project.tokens)} tokens\n${summary}${project.provider_wait ? `\n${pc.yellow(project.provider_wait)}` : ''}`;
  const active = tasks.filter((t) => ['running', 'queued'].includes(t.status));
  const rest = tasks.filter((t) => !['running', 'queued'].includes(t.status));
  const shown = [...active, ...rest].slice(0, rows);
  const lines = shown.map((t) => {
    const step = t.status === 'running' && t.rarv_step ? pc.yellow(` ${t.rarv_step}`) : '';
    const wait =
      t.status === 'queued' && t.run_after && t.run_after.getTime() > now
        ? pc.dim(` waits ${elapsed(new Date(now), t.run_after.getTime())}`)
        : '';
    const time = t.status === 'running' ? pc.dim(` ${elapsed(t.started_at, now)}`) : '';
    const cost = t.cost_usd > 0 ? pc.dim(` ${formatUsd(t.cost_usd)}`) : '';
    return `${ICON[t.status] ?? '?'} ${t.key} ${pc.dim(t.agent_type)}${step}${time}${wait}${cost}`;
  });
  const more = tasks.length > shown.length ? [pc.dim(`… and ${tasks.length - shown.length} more`)] : [];
  return [head, '', ...lines, ...more].join('\n');
}

/** Event kinds worth a line in plain (non-TTY) output. */
const PLAIN_EVENTS = new Set([
  'task.started',
  'task.completed',
  'task.retrying',
  'task.dead_lettered',
  'task.cancelled',
  'project.phase_changed',
  'project.paused',
  'project.completed',
  'project.failed',
  'budget.exceeded',
  'rate_limit.hit',
  'runner.dead',
  'provider.waiting',
  'provider.recovered',
]);

export interface ProgressDisplay {
  stop(): Promise<void>;
}

/**
 * Shows progress while a project runs: a live redrawn view on a terminal,
 * plain timestamped lines otherwise (CI logs, pipes).
 */
export async function startProgress(
  pool: pg.Pool,
  projectId: string,
  out: NodeJS.WriteStream,
): Promise<ProgressDisplay> {
  if (out.isTTY) {
    const draw = createLogUpdate(out);
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        draw(renderProgress(await readProgress(pool, projectId), Date.now(), Math.max(5, (out.rows ?? 30) - 6)));
      } catch {
        // The next tick tries again.
      } finally {
        busy = false;
      }
    };
    await tick();
    const timer = setInterval(tick, 250);
    return {
      async stop() {
        clearInterval(timer);
        await tick();
        draw.done();
      },
    };
  }
  const client = await pool.connect();
  const seen = new Set<number>();
  let lastId = 0;
  const poll = async () => {
    const { rows } = await client.query<{
      id: number;
      kind: string;
      data: Record<string, unknown>;
      subject_id: string | null;
    }>(
      `select id, kind, data, subject_id from events
        where (project_id = $1 or (project_id is null and kind like 'provider.%')) and id > $2 order by id`,
      [projectId, lastId],
    );
    for (const e of rows) {
      lastId = Math.max(lastId, e.id);
      if (seen.has(e.id) || !PLAIN_EVENTS.has(e.kind)) continue;
      seen.add(e.id);
      out.write(`${new Date().toISOString()} ${e.kind} ${describeEvent(e.kind, e.data)}\n`);
    }
  };
  const start = await client.query<{ max: number | null }>('select max(id) as max from events');
  lastId = start.rows[0]?.max ?? 0;
  let chain = Promise.resolve();
  const onNotify = () => {
    chain = chain.then(poll).catch(() => {});
  };
  client.on('notification', onNotify);
  await client.query('listen samgita_events');
  return {
    async stop() {
      onNotify();
      await chain;
      client.off('notification', onNotify);
      await client.query('unlisten samgita_events').catch(() => {});
      client.release();
    },
  };
}

function describeEvent(kind: string, data: Record<string, unknown>): string {
  if (kind === 'provider.waiting') return String(data.reason ?? '');
  if (kind === 'provider.recovered')
    return `the provider answers again (after ${String(data.failures)} failed call(s))`;
  return describe(data);
}

function describe(data: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const k of ['key', 'from', 'to', 'attempt', 'reason', 'error', 'until', 'run_at']) {
    if (data[k] !== undefined && data[k] !== null)
      parts.push(`${k}=${typeof data[k] === 'string' ? data[k] : JSON.stringify(data[k])}`);
  }
  return parts.join(' ');
}
