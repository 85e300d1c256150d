/**
 * The domain's fixed vocabularies, defined once. The database's CHECK
 * constraints (migrations/0001_init.sql) list the same values.
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
