import type { AgentOverride, PhaseName } from '../agents/catalog.js';
import type { PinMap } from '../agents/route.js';

export type TaskKind =
  | 'plan'
  | 'design'
  | 'implement'
  | 'test'
  | 'review'
  | 'doc'
  | 'ops'
  | 'business'
  | 'growth'
  | 'improve';

export const TASK_KINDS: readonly TaskKind[] = [
  'plan',
  'design',
  'implement',
  'test',
  'review',
  'doc',
  'ops',
  'business',
  'growth',
  'improve',
];

export interface PlannedTask {
  /** Stable and unique per project: "<phase>/<subject>-<kind of work>". Reconcile matches on it. */
  key: string;
  title: string;
  /** What to do, with the requirement text and the acceptance criteria. */
  description: string;
  phase: PhaseName;
  agentType: string;
  /** 0 is highest: phase order × 3 + P0/P1/P2 rank. */
  priority: number;
  /** The requirement this task primarily serves, or null. */
  requirementKey: string | null;
  /** sha256 over the content hashes of every requirement in `requirementKeys` (null when none). */
  requirementHash: string | null;
  /** Every requirement the task covers (the primary one first). */
  requirementKeys: string[];
  dependsOn: string[];
  acceptanceCriteria: string[];
  /** Best guess of the files/areas touched (for conflict avoidance and context). */
  areas: string[];
  kind: TaskKind;
}

export interface Plan {
  title: string | null;
  /** Enabled phases, in execution order. */
  phases: PhaseName[];
  tasks: PlannedTask[];
  warnings: string[];
}

export type PhaseEntry = string | { readonly name: string; readonly enabled?: boolean | undefined };

/**
 * The part of samgita.yaml the planner reads. Structural, so the loader's
 * SamgitaConfig object is accepted as is.
 */
export interface PlannerConfig {
  readonly phases?: readonly PhaseEntry[] | undefined;
  readonly agents?: Readonly<Record<string, AgentOverride | undefined>> | undefined;
  readonly perpetual?:
    | { readonly enabled?: boolean | undefined; readonly max_tasks_per_cycle?: number | undefined }
    | undefined;
  /** Optional requirement → agent type pins (requirement key or glob such as "FR-6.*"). */
  readonly routing?: PinMap | undefined;
}
