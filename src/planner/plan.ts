import { PHASES, type PhaseName } from '../agents/catalog.js';
import { SamgitaError } from '../errors.js';
import { routeBuildable } from './assign.js';
import { topoSort } from './graph.js';
import { planArchitecture } from './phases/architecture.js';
import { planBootstrap } from './phases/bootstrap.js';
import { planBusiness } from './phases/business.js';
import { planDeployment } from './phases/deployment.js';
import { planDevelopment } from './phases/development.js';
import { planDiscovery } from './phases/discovery.js';
import { planGrowth } from './phases/growth.js';
import { planInfrastructure } from './phases/infrastructure.js';
import type { PhaseInput, PhasePlanner } from './phases/input.js';
import { planQa } from './phases/qa.js';
import type { PhaseEntry, Plan, PlanInput, PlannedTask } from './types.js';

export { type PerpetualInput, planPerpetual } from './phases/perpetual.js';
export type { PlanInput } from './types.js';

/** Phases run by default when samgita.yaml does not list them (perpetual is opt-in). */
export const DEFAULT_PHASES: readonly PhaseName[] = PHASES.filter((p) => p !== 'perpetual');

/**
 * The planner of each phase. Perpetual has none here: its tasks are not owned
 * by the PRD but proposed a cycle at a time (planPerpetual).
 */
const PLANNERS: Readonly<Record<PhaseName, PhasePlanner | undefined>> = {
  bootstrap: planBootstrap,
  discovery: planDiscovery,
  architecture: planArchitecture,
  infrastructure: planInfrastructure,
  development: planDevelopment,
  qa: planQa,
  deployment: planDeployment,
  business: planBusiness,
  growth: planGrowth,
  perpetual: undefined,
};

/** Enabled phases from config, in canonical order. Unknown names are a config error. */
export function enabledPhases(phases: readonly PhaseEntry[] | undefined): PhaseName[] {
  if (phases === undefined) return [...DEFAULT_PHASES];
  const names = new Set<string>();
  for (const p of phases) {
    const name = typeof p === 'string' ? p : p.name;
    const enabled = typeof p === 'string' ? true : p.enabled !== false;
    if (!(PHASES as readonly string[]).includes(name)) {
      throw new SamgitaError('CONFIG_YAML_INVALID', `unknown phase "${name}"`, {
        hint: `Phases are: ${PHASES.join(', ')}.`,
        location: { field: 'phases' },
      });
    }
    if (enabled) names.add(name);
  }
  return PHASES.filter((p) => names.has(p));
}

/**
 * The deterministic plan (FR-2.1 fallback, FR-4.2): the enabled phases'
 * planners in order, each seeing the keys the earlier ones planned. Keys are
 * stable across re-plans (they depend on requirement keys and section slugs,
 * not on text or order), so the reconciler can match them.
 *
 * Phase order itself is enforced by phase gating (`decidePhase` in
 * src/queue/phase.ts); `dependsOn` holds the finer dependencies (an
 * implementation on its design, a screen on the API and services it shows).
 */
export function planProject(input: PlanInput): Plan {
  const { prd, catalog } = input;
  const config = input.config ?? {};
  const phases = enabledPhases(config.phases);
  const earlier = new Map<PhaseName, readonly string[]>();
  const phaseInput: PhaseInput = { prd, config, catalog, routed: routeBuildable(prd, catalog, config), earlier };
  const tasks: PlannedTask[] = [];
  for (const phase of phases) {
    const planned = PLANNERS[phase]?.(phaseInput) ?? [];
    earlier.set(
      phase,
      planned.map((t) => t.key),
    );
    tasks.push(...planned);
  }

  // A phase may name a task of its own that another config leaves out; dropping
  // such dependencies here keeps every planner free of that bookkeeping.
  const present = new Set(tasks.map((t) => t.key));
  for (const t of tasks) t.dependsOn = [...new Set(t.dependsOn.filter((d) => present.has(d) && d !== t.key))];
  topoSort(tasks, 'plan');

  return { title: prd.title, phases, tasks, warnings: uncovered(input, phases, tasks) };
}

/** A functional requirement no task covers would silently never be built. */
function uncovered(input: PlanInput, phases: readonly PhaseName[], tasks: readonly PlannedTask[]): string[] {
  if (!phases.includes('development')) return [];
  const covered = new Set(tasks.flatMap((t) => t.requirementKeys));
  return input.prd.requirements
    .filter((r) => r.kind === 'functional' && !covered.has(r.key))
    .map((r) => `requirement ${r.key} is not covered by any task`);
}
