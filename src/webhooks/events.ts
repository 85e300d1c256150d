/** Event kinds a webhook can subscribe to; `*` means all of them. */
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
] as const;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export function isWebhookEvent(s: string): boolean {
  return s === '*' || (WEBHOOK_EVENTS as readonly string[]).includes(s);
}
