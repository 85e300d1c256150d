import type { AgentCatalog, AgentOverride, PhaseName } from '../agents/catalog.js';
import type { PinMap } from '../agents/route.js';
import type { ParsedPrd } from '../prd/types.js';

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

/**
 * A part of the user's project that a task changes. Tasks whose areas overlap
 * may edit the same files, so they should not run at the same time; an agent
 * also reads its task's areas as where its work sits.
 *
 * The deterministic planner knows the PRD, not the repository it will be
 * built in, so its areas are names taken from the PRD and from the kind of
 * work, never paths: "<work>" or "<work>:<topic>", where <work> is one of
 * WORK_AREAS in locate.ts ("ui", "api", "service", "data", "docs", ...) and
 * <topic> the slug of the PRD section or requirement group served
 * ("ui:web-dashboard" for a requirement under "FR-6: Web Dashboard"). An agent
 * that has read the repository — the discovery breakdown — may replace a
 * task's areas with real files or directories ("src/api/prd.ts").
 *
 * An area contains the areas below it: "ui" overlaps "ui:web-dashboard" (and a
 * directory the files in it), while "ui:a" and "ui:b" do not overlap; see
 * areasOverlap.
 */
export type Area = string;

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
  /** The parts of the user's project the task changes (see Area). */
  areas: Area[];
  kind: TaskKind;
}

export interface Plan {
  title: string | null;
  /** Enabled phases, in execution order. */
  phases: PhaseName[];
  tasks: PlannedTask[];
  warnings: string[];
}

/** What the planner plans from: the parsed PRD, samgita.yaml and the agent catalog it resolves to. */
export interface PlanInput {
  prd: ParsedPrd;
  config?: PlannerConfig | undefined;
  catalog: AgentCatalog;
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
