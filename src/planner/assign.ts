import type { AgentCatalog } from '../agents/catalog.js';
import { routeRequirement } from '../agents/route.js';
import type { ParsedPrd, Requirement } from '../prd/types.js';
import { selectBuildable } from './select.js';
import type { PlannerConfig } from './types.js';

/** A requirement to implement and the agent type routing gave it. */
export interface Routed {
  readonly req: Requirement;
  readonly agentType: string;
}

/**
 * The preferred type if the project's catalog has it, else the first fallback
 * it has: samgita.yaml may restrict the catalog, and a plan naming a type the
 * runners do not know could never run.
 */
export function pickAgent(catalog: AgentCatalog, preferred: string, ...fallbacks: string[]): string {
  for (const t of [preferred, ...fallbacks]) if (catalog.has(t)) return t;
  return catalog.keys().next().value ?? preferred;
}

/** Routing of every requirement to implement, with development as the phase that breaks ties. */
export function routeBuildable(prd: ParsedPrd, catalog: AgentCatalog, config: PlannerConfig): Routed[] {
  return selectBuildable(prd).map((req) => ({
    req,
    agentType: routeRequirement(req, catalog, config.routing, { phase: 'development' }).agentType,
  }));
}

/** A group of targets goes to the type most of its rows route to (first seen wins a tie). */
export function majorityType(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0] ?? 'eng-backend';
  for (const [v, n] of counts) if (n > (counts.get(best) ?? 0)) best = v;
  return best;
}
