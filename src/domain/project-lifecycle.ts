/**
 * A project's lifecycle as data: which action is allowed from which status,
 * where it leads and which event records it. Pure. Every status change of a
 * project, from any door (CLI, REST API, status page, GitHub App, runner),
 * goes through this table in projects/transition.ts.
 */
import type { EventKind } from './events.js';
import type { ProjectStatus } from './states.js';

export type ProjectAction =
  /** pending → running: a person starts it (the runners pick it up). */
  | 'start'
  /** A person pauses it: nothing new starts; running steps reach their checkpoint. */
  | 'pause'
  /** Samgita stops it for a person to act: budget spent, authentication or billing failed, provider outage. */
  | 'hold'
  | 'resume'
  /** A finished project gets new work: a re-plan, a retry, a perpetual cycle. */
  | 'reopen'
  | 'cancel'
  | 'archive'
  /** The repository went away (GitHub App uninstalled): archived whatever it was doing. */
  | 'remove'
  /** The repository came back: from archived to pending. */
  | 'restore'
  | 'complete'
  | 'fail'
  /** `samgita restore`: the plan rolled back to an earlier state commit; paused, for a person to resume. */
  | 'roll_back';

export interface Transition {
  from: readonly ProjectStatus[];
  to: ProjectStatus;
  event: EventKind;
}

export const TRANSITIONS: Readonly<Record<ProjectAction, Transition>> = {
  start: { from: ['pending'], to: 'running', event: 'project.started' },
  pause: { from: ['pending', 'running'], to: 'paused', event: 'project.paused' },
  hold: { from: ['pending', 'running', 'completed'], to: 'paused', event: 'project.paused' },
  resume: { from: ['paused', 'failed'], to: 'running', event: 'project.resumed' },
  reopen: { from: ['completed'], to: 'running', event: 'project.reopened' },
  cancel: { from: ['pending', 'running', 'paused', 'failed'], to: 'cancelled', event: 'project.cancelled' },
  archive: { from: ['completed', 'failed', 'cancelled'], to: 'archived', event: 'project.archived' },
  remove: {
    from: ['pending', 'running', 'paused', 'completed', 'failed', 'cancelled'],
    to: 'archived',
    event: 'project.archived',
  },
  restore: { from: ['archived'], to: 'pending', event: 'project.restored' },
  complete: { from: ['running'], to: 'completed', event: 'project.completed' },
  fail: { from: ['running', 'paused'], to: 'failed', event: 'project.failed' },
  roll_back: { from: ['pending', 'paused', 'completed', 'failed'], to: 'paused', event: 'project.rolled_back' },
};

/** The actions people may ask for (CLI, API, page, GitHub comments); the rest are Samgita's own. */
export const USER_ACTIONS = [
  'start',
  'pause',
  'resume',
  'cancel',
  'archive',
] as const satisfies readonly ProjectAction[];
export type UserAction = (typeof USER_ACTIONS)[number];

/** Statuses in which a project may be deleted: nothing is, or can start, running. */
export const DELETABLE: readonly ProjectStatus[] = ['pending', 'completed', 'failed', 'cancelled', 'archived'];

export type TransitionDecision = { ok: true; to: ProjectStatus } | { ok: false; message: string; hint: string };

/** May `action` be applied to a project in `status`? */
export function decideTransition(status: ProjectStatus, action: ProjectAction): TransitionDecision {
  const t = TRANSITIONS[action];
  if (t.from.includes(status)) return { ok: true, to: t.to };
  const allowed = USER_ACTIONS.filter((a) => TRANSITIONS[a].from.includes(status));
  return {
    ok: false,
    message: `cannot ${action} a project that is ${status} (allowed from: ${t.from.join(', ')})`,
    hint: allowed.length
      ? `from ${status} you can: ${allowed.join(', ')}`
      : `a ${status} project can no longer change; clone it to start again`,
  };
}

/** The action that makes a project run again from where it stands (`samgita run`, a new desired state), if any. */
export function runAction(status: ProjectStatus): 'start' | 'resume' | 'reopen' | null {
  if (status === 'pending') return 'start';
  if (status === 'paused' || status === 'failed') return 'resume';
  if (status === 'completed') return 'reopen';
  return null;
}
