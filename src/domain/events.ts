/**
 * Every kind of event Samgita appends to `events` (the audit log that also
 * feeds live updates, outgoing webhooks and the status page). Recording an
 * event of a kind not listed here does not compile.
 */
export const EVENT_KINDS = [
  // projects
  'project.created',
  'project.updated',
  'project.deleted',
  'project.restored',
  // rebuilt from its state ref (refs/samgita/state) on this deployment
  'project.imported',
  // rolled back to an earlier state commit
  'project.rolled_back',
  'project.started',
  'project.paused',
  'project.resumed',
  'project.reopened',
  'project.cancelled',
  'project.archived',
  'project.completed',
  'project.failed',
  'project.phase_changed',
  'project.prd_updated',
  'project.reconciled',
  // the discovery task's breakdown was not used (invalid after its retries, or the PRD changed meanwhile)
  'project.breakdown_rejected',
  'project.config_invalid',
  'project.perpetual_cycle',
  'project.worktrees_removed',
  'budget.exceeded',
  // tasks
  'task.created',
  'task.updated',
  'task.restarted',
  'task.reopened',
  'task.started',
  'task.retrying',
  'task.requeued',
  'task.completed',
  'task.failed',
  'task.dead_lettered',
  'task.cancelled',
  'task.retried',
  'task.review_feedback',
  'task.integrated',
  'task.sent_back',
  'project.integration_verified',
  // agents and runners
  'agent.spawned',
  'agent.completed',
  'agent.crashed',
  'runner.started',
  'runner.stopped',
  'runner.dead',
  // the model provider
  'rate_limit.hit',
  'provider.waiting',
  'provider.recovered',
  // GitHub
  'github.pr_opened',
  'github.pr_adopted',
  'github.publish_deferred',
  'pr.opened',
  'pr.merged',
  // the API's own records
  'api_key.created',
  'api_key.revoked',
  'webhook.created',
  'webhook.deleted',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

/** Event kinds an outgoing webhook can subscribe to; `*` means all of them. */
export const WEBHOOK_EVENTS = [
  'project.created',
  'project.phase_changed',
  'project.paused',
  'project.resumed',
  'project.cancelled',
  'project.archived',
  'project.completed',
  'project.failed',
  'project.prd_updated',
  'task.created',
  'task.started',
  'task.completed',
  'task.failed',
  'task.dead_lettered',
  'task.retried',
  'agent.spawned',
  'agent.crashed',
  'agent.completed',
  'pr.opened',
  'pr.merged',
  'budget.exceeded',
  'rate_limit.hit',
  'provider.waiting',
  'provider.recovered',
] as const satisfies readonly EventKind[];

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
