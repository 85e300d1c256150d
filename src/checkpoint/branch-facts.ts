/**
 * The state ref is written at most every few seconds; git history is written
 * with every commit. On import the newer of the two wins: a task the
 * integration branch merged after the last state commit is completed, and a
 * task branch that moved on keeps its newer head (the runner resumes from the
 * branch anyway). Pure.
 */
import type { ProjectState, StateTask } from './document.js';

export interface BranchFacts {
  /** Task id → integration commit that merged it. */
  integrated: ReadonlyMap<string, string>;
  /** Branch name → head. */
  heads: ReadonlyMap<string, string>;
  integrationHead: string | null;
}

export interface FactChange {
  key: string;
  what: 'integrated_since' | 'branch_moved';
  sha: string;
}

export function applyBranchFacts(
  state: ProjectState,
  facts: BranchFacts,
): { state: ProjectState; changes: FactChange[] } {
  const changes: FactChange[] = [];
  const tasks = state.tasks.map((t): StateTask => {
    const merged = facts.integrated.get(t.id);
    if (merged && t.status !== 'completed' && t.status !== 'cancelled') {
      changes.push({ key: t.key, what: 'integrated_since', sha: merged });
      return {
        ...t,
        status: 'completed',
        rarv_step: 'done',
        merge_state: 'merged',
        integrated_sha: merged,
        completed_at: t.completed_at ?? state.written_at,
      };
    }
    const head = t.branch ? facts.heads.get(t.branch) : undefined;
    if (head && head !== t.head_sha && t.status !== 'completed') {
      changes.push({ key: t.key, what: 'branch_moved', sha: head });
      return { ...t, head_sha: head };
    }
    return t;
  });
  const project =
    facts.integrationHead &&
    facts.integrationHead !== state.project.integration_head &&
    changes.some((c) => c.what === 'integrated_since')
      ? { ...state.project, integration_head: facts.integrationHead }
      : state.project;
  return { state: { ...state, tasks, project }, changes };
}
