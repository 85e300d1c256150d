/**
 * Who may run a project whose state ref another deployment may share: the
 * deployment recorded in the ref holds it; another refuses unless told to
 * take over. Pure.
 */
import type { StateOwner } from './document.js';

export type Ownership =
  /** No state yet, or ours: go on. */
  | { kind: 'ours' }
  /** Another deployment's, and we were told to take it over: go on, the ref records us from now. */
  | { kind: 'taken_over'; from: StateOwner }
  | { kind: 'held'; by: StateOwner; since: string };

export function decideOwnership(
  recorded: { owner: StateOwner; at: string } | null,
  us: string,
  takeOver: boolean,
): Ownership {
  if (!recorded || recorded.owner.deployment === us) return { kind: 'ours' };
  if (takeOver) return { kind: 'taken_over', from: recorded.owner };
  return { kind: 'held', by: recorded.owner, since: recorded.at };
}

/** What a person reads when a second deployment is refused, and how to go on. */
export function heldMessage(
  held: { by: StateOwner; since: string },
  project: string,
): { message: string; hint: string } {
  return {
    message: `project ${project} is held by another Samgita deployment (${held.by.deployment} on ${held.by.host}; its last state commit ${held.since}); two deployments never run one project`,
    hint: 'run it from that deployment, or — if it is gone for good — take it over here with --take-over (the other deployment then stops the project at its next checkpoint)',
  };
}
