/**
 * The settle plan: given the task row as it stands now (locked) and how the
 * attempt ended, everything the settle's transaction writes — the task's new
 * status and attempts, how its agent run ends, which events, whether its job
 * comes back and when, whether the project is held — and what follows the
 * commit (advancing the project). Pure: the clock is passed in.
 */
import type { EventKind } from '../../domain/events.js';
import type { ProjectStatus, TaskStatus } from '../../domain/states.js';
import type { Hold, SettledOutcome } from './outcome.js';

/** The error kept on the task (and its agent run). */
export interface TaskError {
  message: string;
  kind: SettledOutcome['kind'];
  at: string;
}

/** The write to the task row; each kind is one statement of store/task-attempts.ts. */
export type TaskWrite =
  /** Cancelled (or re-planned) while the attempt worked: that decision stands, the row is left alone. */
  | { kind: 'keep' }
  /** The project was cancelled while the task ran: the task ends with it. */
  | { kind: 'cancel' }
  | { kind: 'complete' }
  | { kind: 'hand_back' }
  | { kind: 'park'; error: TaskError; refund: number }
  | { kind: 'requeue'; error: TaskError; refund: number; runAt: Date }
  | { kind: 'provider_wait'; error: TaskError; refund: number; runAt: Date }
  | { kind: 'dead_letter'; error: TaskError; attempts: number }
  | { kind: 'retry'; error: TaskError; attempts: number; runAt: Date };

/** How the attempt's agent run ends. */
export type RunEnd =
  /** Only if still open: the project's cancel may have ended it already. */
  | { kind: 'cancel_if_open'; error: unknown }
  | { kind: 'end'; status: 'completed' | 'failed' | 'cancelled'; error: unknown };

export interface PlannedEvent {
  kind: EventKind;
  subject: 'task' | 'agent_run';
  data: Record<string, unknown>;
}

export interface SettlePlan {
  /** The task's status after the settle, as reported to onSettled. */
  status: TaskStatus;
  task: TaskWrite;
  /** Null when the attempt had no agent run (never claimed) or the task is gone. */
  run: RunEnd | null;
  /** In order, after the task and run writes. */
  events: PlannedEvent[];
  hold: Hold | null;
  /** The task's job comes back at `runAt` (its max_attempts: the row's). */
  job: { runAt: Date; maxAttempts: number } | null;
  /** After commit: the project may move on (a task ended for good). */
  advance: boolean;
}

export interface SettleInput {
  /** The task row now; null when it was deleted. */
  row: {
    status: TaskStatus;
    attempts: number;
    max_attempts: number;
    project_status: ProjectStatus;
    /** The agent run that claimed the task last (absent: not known, the attempt is taken as current). */
    agent_id?: string | null;
  } | null;
  outcome: SettledOutcome;
  task: { id: string; key: string };
  agentRunId: string | null;
  now: Date;
}

const NOTHING: Omit<SettlePlan, 'status' | 'task'> = { run: null, events: [], hold: null, job: null, advance: false };

export function planSettle(input: SettleInput): SettlePlan {
  const { row, outcome: s, task, agentRunId, now } = input;
  if (!row) return { ...NOTHING, status: 'queued', task: { kind: 'keep' } };
  // Fencing: this runner was declared dead (a partition, a long stall) and the task was claimed
  // again meanwhile. Its late outcome must not overwrite the attempt that owns the task now; its
  // agent run was already ended by whoever declared it dead.
  if (agentRunId && row.agent_id && row.agent_id !== agentRunId)
    return { ...NOTHING, status: row.status, task: { kind: 'keep' } };
  const end = (status: 'completed' | 'failed' | 'cancelled', error: unknown): RunEnd | null =>
    agentRunId ? { kind: 'end', status, error } : null;
  const taskEvent = (kind: EventKind, data: Record<string, unknown>): PlannedEvent => ({ kind, subject: 'task', data });
  const runEvent = (kind: EventKind, data: Record<string, unknown>): PlannedEvent[] =>
    agentRunId ? [{ kind, subject: 'agent_run', data }] : [];

  if (row.project_status === 'cancelled' && s.kind !== 'completed' && row.status === 'running') {
    return {
      ...NOTHING,
      status: 'cancelled',
      task: { kind: 'cancel' },
      run: agentRunId ? { kind: 'cancel_if_open', error: { message: 'project cancelled' } } : null,
    };
  }
  if (row.status === 'cancelled' || row.status === 'pending') {
    return {
      ...NOTHING,
      status: row.status,
      task: { kind: 'keep' },
      run: end('cancelled', { reason: `task ${row.status} while running` }),
    };
  }
  if (s.kind === 'completed') {
    return {
      ...NOTHING,
      status: 'completed',
      task: { kind: 'complete' },
      run: end('completed', null),
      events: [taskEvent('task.completed', { key: task.key }), ...runEvent('agent.completed', { task_id: task.id })],
      advance: true,
    };
  }
  if (s.kind === 'handback') {
    return {
      ...NOTHING,
      status: 'pending',
      task: { kind: 'hand_back' },
      run: end('cancelled', { message: s.reason, kind: s.kind }),
    };
  }
  const error: TaskError = { message: s.reason, kind: s.kind, at: now.toISOString() };
  // An attempt that was claimed but is not the task's fault is given back.
  const refund = agentRunId ? 1 : 0;
  if (s.kind === 'park') {
    return {
      ...NOTHING,
      status: 'pending',
      task: { kind: 'park', error, refund },
      run: end('cancelled', error),
      hold: s.hold ?? null,
    };
  }
  if (s.kind === 'requeue') {
    return {
      ...NOTHING,
      status: 'queued',
      task: { kind: 'requeue', error, refund, runAt: s.runAt },
      run: end('cancelled', error),
      job: { runAt: s.runAt, maxAttempts: row.max_attempts },
    };
  }
  if (s.kind === 'provider_wait') {
    // Not the task's fault: no attempt is spent, and a recovered provider wakes it (waiting_for).
    const write: TaskWrite = { kind: 'provider_wait', error, refund, runAt: s.runAt };
    const job = { runAt: s.runAt, maxAttempts: row.max_attempts };
    if (!s.called) return { ...NOTHING, status: 'queued', task: write, run: end('cancelled', error), job };
    if (s.trouble === 'rate_limit') {
      return {
        ...NOTHING,
        status: 'queued',
        task: write,
        run: end('cancelled', error),
        events: [taskEvent('rate_limit.hit', { until: s.runAt.toISOString() })],
        job,
      };
    }
    return {
      ...NOTHING,
      status: 'queued',
      task: write,
      run: end('failed', error),
      events: [
        taskEvent('task.retrying', {
          key: task.key,
          error: s.reason,
          run_at: s.runAt.toISOString(),
          attempts: Math.max(row.attempts - 1, 0),
        }),
      ],
      job,
    };
  }
  const attempts = s.kind === 'retry' && !s.countAttempt ? Math.max(row.attempts - 1, 0) : row.attempts;
  if (s.kind === 'dead' || attempts >= row.max_attempts) {
    return {
      ...NOTHING,
      status: 'dead_letter',
      task: { kind: 'dead_letter', error, attempts },
      run: end('failed', error),
      events: [
        taskEvent('task.failed', { key: task.key, error: s.reason }),
        taskEvent('task.dead_lettered', { key: task.key, attempts }),
        ...runEvent('agent.crashed', { task_id: task.id, error: s.reason }),
      ],
      advance: true,
    };
  }
  const runAt = new Date(now.getTime() + s.delayMs);
  return {
    ...NOTHING,
    status: 'queued',
    task: { kind: 'retry', error, attempts, runAt },
    run: end('failed', error),
    events: [taskEvent('task.retrying', { key: task.key, error: s.reason, run_at: runAt.toISOString(), attempts })],
    job: { runAt, maxAttempts: row.max_attempts },
  };
}
