import { createLogUpdate } from 'log-update';
import type pg from 'pg';
import pc from 'picocolors';
import { describeWait } from '../domain/provider-gate.js';
import { listenToEvents } from '../store/events.js';
import {
  lastEventId,
  type ProjectLineRow,
  progressEvents,
  readProjectLine,
  readTaskLines,
  type TaskLine,
} from '../store/read/dashboard.js';
import { readProviderState } from '../store/runners.js';

export type { TaskLine };

export interface ProjectLine extends ProjectLineRow {
  /** "waiting for the provider until 14:05 (overloaded)" while a provider outage holds every runner back. */
  provider_wait: string | null;
}

export async function readProgress(
  pool: pg.Pool,
  projectId: string,
): Promise<{ project: ProjectLine; tasks: TaskLine[] }> {
  const project = await readProjectLine(pool, projectId);
  if (!project) throw new Error(`project ${projectId} not found`);
  const provider = await readProviderState(pool);
  const waiting = provider.state && project.status === 'running' ? describeWait(provider.state, provider.now) : null;
  return { project: { ...project, provider_wait: waiting }, tasks: await readTaskLines(pool, projectId) };
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
  'task.integrated',
  'task.sent_back',
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
  const seen = new Set<number>();
  let lastId = 0;
  const poll = async () => {
    for (const e of await progressEvents(pool, projectId, lastId)) {
      lastId = Math.max(lastId, e.id);
      if (seen.has(e.id) || !PLAIN_EVENTS.has(e.kind)) continue;
      seen.add(e.id);
      out.write(`${new Date().toISOString()} ${e.kind} ${describeEvent(e.kind, e.data)}\n`);
    }
  };
  lastId = await lastEventId(pool);
  let chain = Promise.resolve();
  const onNotify = () => {
    chain = chain.then(poll).catch(() => {});
  };
  // A lost connection is re-established; the poll catches up on whatever it missed meanwhile.
  const listener = await listenToEvents(pool, onNotify, () => {});
  return {
    async stop() {
      onNotify();
      await chain;
      await listener.close();
    },
  };
}

function describeEvent(kind: string, data: Record<string, unknown>): string {
  if (kind === 'provider.waiting') return String(data.reason ?? '');
  if (kind === 'provider.recovered')
    return `the provider answers again (after ${String(data.failures)} failed call(s))`;
  if (kind === 'task.integrated')
    return `key=${String(data.key)} into ${String(data.branch)} at ${String(data.commit ?? '').slice(0, 12)}`;
  if (kind === 'task.sent_back') return `key=${String(data.key)} ${String(data.note ?? data.reason ?? '')}`;
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
