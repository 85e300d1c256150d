/**
 * The domain's fixed vocabularies, defined once: the server, the CLI and the
 * status page (web/ imports this file) all use these lists, and the database's
 * CHECK constraints (migrations/) list the same values.
 */

/** Phases in canonical (run) order (FR-4.1); perpetual loops after the rest. */
export const PHASES = [
  'bootstrap',
  'discovery',
  'architecture',
  'infrastructure',
  'development',
  'qa',
  'deployment',
  'business',
  'growth',
  'perpetual',
] as const;
export type PhaseName = (typeof PHASES)[number];

export const TASK_STATUSES = [
  'pending',
  'blocked',
  'queued',
  'running',
  'completed',
  'failed',
  'dead_letter',
  'cancelled',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Tasks that still have work ahead of them. */
export const ACTIVE_TASK_STATUSES: readonly TaskStatus[] = ['pending', 'blocked', 'queued', 'running'];
/** Tasks that ended without success and can be retried. */
export const RETRYABLE_TASK_STATUSES = ['dead_letter', 'failed', 'cancelled'] as const satisfies readonly TaskStatus[];

/** Where a task stands in its RARV loop (`done`: verified and integrated), saved after every step. */
export const RARV_STEPS = ['reason', 'act', 'reflect', 'verify', 'integrate', 'done'] as const;
export type RarvStep = (typeof RARV_STEPS)[number];

export const PROJECT_STATUSES = [
  'pending',
  'running',
  'paused',
  'completed',
  'failed',
  'cancelled',
  'archived',
] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

/** Model tiers in escalation order: fast → standard → strong. */
export const MODEL_TIERS = ['fast', 'standard', 'strong'] as const;
export type ModelTier = (typeof MODEL_TIERS)[number];
