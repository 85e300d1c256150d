import { routeRequirement } from '../../agents/route.js';
import { slugify } from '../../prd/text.js';
import type { Requirement } from '../../prd/types.js';
import { majorityType, pickAgent, type Routed } from '../assign.js';
import { taskBuilder } from '../build.js';
import { targetCriterion } from '../describe.js';
import { wouldCycle } from '../graph.js';
import { areaOf, topicOf, workOf } from '../locate.js';
import { apiImplementKey, designKey, implementKey, targetGroup, targetImplementKey } from '../name.js';
import { layerOf, rareTermsOf, sharedCount } from '../relate.js';
import { groupBy, selectKind } from '../select.js';
import type { PlannedTask } from '../types.js';
import { entityDesigns, SYSTEM_DESIGN_KEY } from './architecture.js';
import { earlierKeys, type PhaseInput, plannedOf } from './input.js';

/** A screen shows what lower layers provide; these types build screens. */
const SCREEN_TYPES: ReadonlySet<string> = new Set(['eng-frontend', 'eng-mobile']);
/** A requirement depends on at most this many related lower-layer ones: the strongest relations, not every mention. */
const MAX_RELATED = 3;

/**
 * One implementation task per API group (against its contract), per
 * requirement (routed to an agent type) and per group of non-functional
 * targets. Dependencies let independent work run in parallel while keeping
 * what is built on something after it.
 */
export function planDevelopment(input: PhaseInput): PlannedTask[] {
  const { prd, catalog, config, routed } = input;
  const task = taskBuilder(prd);
  const tasks: PlannedTask[] = [];

  const apiImpl: string[] = [];
  for (const r of selectKind(prd, 'api')) {
    const t = task({
      key: apiImplementKey(r),
      title: `Implement API: ${r.title}`,
      what: `Implement the "${r.title}" endpoints exactly as specified by their contract, with handler tests against a real database.`,
      phase: 'development',
      agentType: pickAgent(catalog, routeRequirement(r, catalog, config.routing).agentType, 'eng-api'),
      kind: 'implement',
      requirementKeys: [r.key],
      dependsOn: [designKey(r)],
      acceptanceCriteria: [
        'Every endpoint responds as its schema says, including errors',
        'Handler tests cover success and failure cases',
      ],
      areas: [areaOf('api', slugify(r.title))],
    });
    tasks.push(t);
    apiImpl.push(t.key);
  }

  const deps = requirementDependencies(input, apiImpl);
  for (const { req, agentType } of routed) {
    tasks.push(
      task({
        key: implementKey(req),
        title: `Implement ${req.key.includes('/') ? '' : `${req.key}: `}${req.title}`,
        what: `Implement this requirement test-first in the existing architecture. Add or update automated tests that demonstrate it, and keep the API contract and docs in sync.`,
        phase: 'development',
        agentType,
        kind: 'implement',
        requirementKeys: [req.key],
        dependsOn: deps.get(implementKey(req)) ?? [],
        acceptanceCriteria: [
          `${req.title} works as specified (${req.key})`,
          'Automated tests exercise the behaviour, including an error case',
          'The verify commands pass',
        ],
        areas: [areaOf(workOf(agentType), topicOf(req))],
      }),
    );
  }

  const systemDesign = plannedOf(input, 'architecture', [SYSTEM_DESIGN_KEY]);
  for (const [group, reqs] of groupBy(selectKind(prd, 'non_functional'), targetGroup)) {
    const heading = reqs[0]?.sectionPath.at(-1) ?? group;
    const type = pickAgent(
      catalog,
      majorityType(reqs.map((r) => routeRequirement(r, catalog, config.routing, { phase: 'development' }).agentType)),
      'eng-backend',
    );
    tasks.push(
      task({
        key: targetImplementKey(group),
        title: `Meet ${heading} targets`,
        what: `Build what is needed to meet the "${heading}" targets below (configuration, instrumentation, mechanisms), reusing existing components.`,
        phase: 'development',
        agentType: type,
        kind: 'implement',
        requirementKeys: reqs.map((r) => r.key),
        dependsOn: systemDesign,
        acceptanceCriteria: reqs.map((r) => targetCriterion(r)),
        areas: [areaOf(workOf(type), reqs[0] ? topicOf(reqs[0]) : undefined)],
      }),
    );
  }
  return tasks;
}

/**
 * Implementation key → the keys it waits for: the system design, the schemas
 * of the entities it names, the API groups (for API work), the REST API hub
 * (for screens), related lower-layer requirements, and the requirements it
 * names by ID unless that would close a cycle.
 */
function requirementDependencies(input: PhaseInput, apiImpl: readonly string[]): Map<string, string[]> {
  const { prd, routed } = input;
  const architecture = new Set(earlierKeys(input, 'architecture'));
  const entities = entityDesigns(prd.requirements, architecture);
  const reqByKey = new Map(prd.requirements.map((r) => [r.key, r]));
  const deps = new Map<string, string[]>();

  for (const { req, agentType } of routed) {
    const own = new Set<string>(architecture.has(SYSTEM_DESIGN_KEY) ? [SYSTEM_DESIGN_KEY] : []);
    const named = entities.designsFor(req.text);
    // Database work that names no entity is about the schema as a whole.
    for (const d of agentType === 'eng-database' && named.length === 0 ? entities.all : named) own.add(d);
    if (agentType === 'eng-api') for (const d of apiImpl) own.add(d);
    deps.set(implementKey(req), [...own]);
  }

  const hub = apiHub(routed);
  const rare = rareTermsOf(routed.map((x) => x.req));
  for (const { req, agentType } of routed) {
    const key = implementKey(req);
    const list = deps.get(key) ?? [];
    if (SCREEN_TYPES.has(agentType) && hub && hub.key !== req.key) list.push(implementKey(hub));
    const layer = layerOf(agentType);
    const related = routed
      .filter((o) => o.req.key !== req.key && layerOf(o.agentType) < layer)
      .map((o) => ({ o, overlap: sharedCount(rare.get(req.key), rare.get(o.req.key)) }))
      .filter((c) => c.overlap > 0)
      .sort((a, b) => b.overlap - a.overlap)
      .slice(0, MAX_RELATED);
    for (const c of related) list.push(implementKey(c.o.req));
    for (const ref of req.refs) {
      const target = reqByKey.get(ref);
      if (
        target &&
        (target.kind === 'functional' || target.kind === 'bullet') &&
        !wouldCycle(deps, key, implementKey(target))
      )
        list.push(implementKey(target));
    }
    deps.set(key, [...new Set(list)]);
  }
  return deps;
}

/**
 * The requirement about the API as a whole ("REST API for all operations"):
 * screens are built on it. The first API requirement when none says so.
 */
function apiHub(routed: readonly Routed[]): Requirement | undefined {
  const api = routed.filter((x) => x.agentType === 'eng-api');
  return (api.find((x) => /\brest\b|\bapi\b/iu.test(x.req.title)) ?? api[0])?.req;
}
