/**
 * What every step of an attempt works with: the runner's context, the task,
 * its configuration and its agent run, and a few helpers they share.
 */
import path from 'node:path';
import type pg from 'pg';
import type { SamgitaConfig } from '../config/samgita-yaml/schema.js';
import type { BackoffPolicy } from '../domain/provider-gate.js';
import type { Embedder } from '../embeddings/client.js';
import type { CheckoutCopies } from '../git/checkout-copies.js';
import type { WorktreeSpares } from '../git/worktree-spares.js';
import type { Logger } from '../log/logger.js';
import type { Actor } from '../store/events.js';
import type { Checkpoint, TaskRecord, TaskStanding } from '../store/task-attempts.js';
import { backoffMs } from './backoff.js';
import type { Gate } from './gate.js';
import type { AgentLogWriter } from './log-writer.js';
import { backoffPolicy, type ProviderBackoff } from './provider.js';
import type { TaskPublisher } from './publisher.js';
import type { VerifyCommand } from './verify-commands.js';

export interface TaskRunContext {
  pool: pg.Pool;
  runnerId: string;
  host: string;
  claudeBin: string;
  samgitaHome: string;
  /** `samgita runner --no-sandbox`: agents and verify run on the host whatever samgita.yaml says. */
  sandboxOff?: boolean;
  /** Extra environment for the CLI (tests point it at a local API). */
  claudeEnv?: Record<string, string | undefined>;
  log: Logger;
  /** Fires when the runner shuts down or the project is cancelled: stop at the next safe point. */
  signal: AbortSignal;
  /** Pushes a verified branch and opens its pull request (GitHub projects); absent for local runs. */
  publisher?: TaskPublisher;
  /** Called after each task settles, e.g. to wake the progress display. */
  onSettled?: (taskId: string, status: string) => void;
  /** Soft stop (runner draining): finish the current step, then hand the task back at its checkpoint. */
  drain?: AbortSignal;
  /** First retry delay; doubles per attempt with jitter (default 5 s). */
  retryBaseMs?: number;
  /** Provider-wide backoff between probes during an outage (default 10 s doubling to 5 min). */
  providerBackoff?: ProviderBackoff;
  /**
   * Registers a task as in flight on this runner and returns a signal that fires
   * when it must stop at once (task cancelled/restarted, project cancelled).
   */
  track?: (taskId: string, projectId: string) => { signal: AbortSignal; release(): void };
  /** Ready checkouts at the base commit, so a new task does not wait for its tree to be written. */
  spares?: WorktreeSpares;
  /** New checkouts of small repositories copied from one at the base commit. */
  copies?: CheckoutCopies;
  /** Bounds how many tasks do database/git work at once (see Gate); absent: unbounded. */
  gate?: Gate;
  /** The embeddings endpoint for memories; absent: from SAMGITA_EMBEDDINGS_*, null: none (full text only). */
  embedder?: Embedder | null;
}

/** One claimed attempt at a task. */
export interface Attempt {
  ctx: TaskRunContext;
  task: TaskRecord;
  config: SamgitaConfig;
  agentRunId: string;
  actor: Actor;
  logs: AgentLogWriter;
  /** Stops the attempt at once (shutdown, timeout, task or project stopped). */
  signal: AbortSignal;
  log: Logger;
}

/** The task's checkout. */
export interface Workspace {
  path: string;
  branch: string;
  /** The branch the task's branch starts from (and its pull request targets). */
  base: string;
  /** The base commit the branch started from (the Reason step diffs against it). */
  baseSha: string;
  /** The project's integration branch: where verified work is merged, and what new tasks start from. */
  integrationBranch: string;
  verifyCommands: VerifyCommand[];
}

/** The RARV state carried from step to step; saved on the task after each one. */
export interface RarvState {
  loop: number;
  checkpoint: Checkpoint;
  /** The Reason step's prompt for Act; empty when resumed past Reason. */
  prompt: string;
  /** What the agent said at the end of its last Act, for Reflect. */
  agentSummary: string | null;
  /** A branch made just now has no changes of its own: the Reason step need not ask git. */
  fresh: boolean;
  /** The task's standing as the step that just ended saved it (store/task-attempts.ts saveStep): read once. */
  standing?: TaskStanding | null | undefined;
}

export function runnerActor(ctx: TaskRunContext): Actor {
  return { type: 'runner', id: ctx.runnerId };
}

/** Long waits on the outside world (the CLI, verify commands, GitHub) give the runner's gate permit back. */
export function outsideGate<T>(
  ctx: Pick<TaskRunContext, 'gate'>,
  fn: () => Promise<T>,
  options: { first?: boolean } = {},
): Promise<T> {
  return ctx.gate ? ctx.gate.outside(fn, options) : fn();
}

export function policyFor(ctx: TaskRunContext, config: SamgitaConfig): BackoffPolicy {
  return backoffPolicy(config.limits.overload_give_up, ctx.providerBackoff);
}

/** The delay before the next attempt, should this one fail (jittered, doubling per attempt). */
export function retryDelayMs(ctx: TaskRunContext, task: TaskRecord): number {
  return backoffMs(task.attempts, ctx.retryBaseMs);
}

export function taskSlug(key: string): string {
  return key
    .toLowerCase()
    .replace(/[^a-z0-9/._-]+/g, '-')
    .replace(/\/+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 80);
}

export function worktreeDirFor(ctx: TaskRunContext, task: Pick<TaskRecord, 'project_id' | 'key'>): string {
  return path.join(ctx.samgitaHome, 'worktrees', task.project_id, taskSlug(task.key));
}
