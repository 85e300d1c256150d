/**
 * Where a verified task's branch goes next. `samgita run` on a local
 * repository keeps branches local (no publisher); the GitHub App pushes the
 * branch and opens or updates a pull request.
 */
import type { VerifyRecord } from '../store/task-attempts.js';

export interface PublishInput {
  projectId: string;
  taskId: string;
  taskKey: string;
  title: string;
  description: string;
  agentType: string;
  branch: string;
  baseBranch: string;
  worktree: string;
  headSha: string | null;
  /** How verify judged the branch; `passed` only when commands ran and passed (`unverified`: none to run). */
  verify: VerifyRecord;
  costUsd: number;
  tokens: number;
}

export interface PublishResult {
  prNumber: number;
  prUrl: string;
  /** True while the PR waits for review/merge (manual merge policy): the task is not completed yet. */
  awaitingMerge: boolean;
}

export interface TaskPublisher {
  /** Brings the project's working copy up to date (clone or fetch) before a task starts in it. */
  prepare?(projectId: string): Promise<void>;
  publish(input: PublishInput): Promise<PublishResult | null>;
}
