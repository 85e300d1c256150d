import { slugify } from '../prd/text.js';
import type { Requirement } from '../prd/types.js';

/*
 * Task keys are a task's identity across re-plans: the reconciler matches
 * recorded tasks to planned ones by key, so keys come from requirement keys
 * and heading slugs (stable when text is reworded), never from text or order.
 */

/** A requirement's implementation. 80 characters: bullet keys are heading paths and must stay distinct. */
export function implementKey(r: Pick<Requirement, 'key'>): string {
  return `development/${slugify(r.key, 80)}-implement`;
}

/** The design of a data-model entity or API group. */
export function designKey(r: Pick<Requirement, 'key'>): string {
  return `architecture/${slugify(r.key)}-design`;
}

/** An API group's implementation, slugged like its design so the two read as a pair. */
export function apiImplementKey(r: Pick<Requirement, 'key'>): string {
  return `development/${slugify(r.key)}-implement`;
}

/** Non-functional targets are keyed "NFR-1/<metric>"; tasks work on the whole group ("NFR-1"). */
export function targetGroup(r: Pick<Requirement, 'key'>): string {
  return r.key.split('/')[0] ?? r.key;
}

export function targetImplementKey(group: string): string {
  return `development/${slugify(group)}-implement`;
}

export function targetVerifyKey(group: string): string {
  return `qa/${slugify(group)}-verify`;
}

/** QA tasks are named after the engineering type whose work they check ("eng-frontend" → "frontend"). */
export function qaSubject(agentType: string): string {
  return agentType.replace(/^eng-/u, '');
}
