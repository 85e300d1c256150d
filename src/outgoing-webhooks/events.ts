import { WEBHOOK_EVENTS } from '../domain/events.js';

export { WEBHOOK_EVENTS, type WebhookEvent } from '../domain/events.js';

export function isWebhookEvent(s: string): boolean {
  return s === '*' || (WEBHOOK_EVENTS as readonly string[]).includes(s);
}
