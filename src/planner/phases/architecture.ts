import { routeRequirement } from '../../agents/route.js';
import { slugify } from '../../prd/text.js';
import type { Requirement } from '../../prd/types.js';
import { pickAgent } from '../assign.js';
import { taskBuilder } from '../build.js';
import { areaOf } from '../locate.js';
import { designKey } from '../name.js';
import { selectBuildable, selectConstraints, selectKind } from '../select.js';
import type { PlannedTask } from '../types.js';
import { earlierKeys, type PhaseInput } from './input.js';

export const SYSTEM_DESIGN_KEY = 'architecture/system-design';
export const TECH_STACK_KEY = 'architecture/tech-stack';
/** The one data-model task of a PRD that has requirements but no data model section. */
export const DERIVED_DATA_MODEL_KEY = 'architecture/data-model-design';

/**
 * Design before code: the system and its stack from everything discovery
 * found, then a schema per data-model entity and a contract per API group on
 * top of them, so that implementations can be built in parallel against
 * agreed interfaces.
 */
export function planArchitecture(input: PhaseInput): PlannedTask[] {
  const { prd, catalog, config } = input;
  const task = taskBuilder(prd);
  const discovery = [...earlierKeys(input, 'discovery')];
  const tasks: PlannedTask[] = [
    task({
      key: SYSTEM_DESIGN_KEY,
      title: 'Design the system architecture',
      what: 'Design the system: components and their boundaries, data flow, concurrency and failure handling, and how each non-functional target will be met. Write docs/architecture/overview.md and an ADR per major decision.',
      phase: 'architecture',
      agentType: pickAgent(catalog, 'eng-backend'),
      kind: 'design',
      requirementKeys: selectKind(prd, 'non_functional').map((r) => r.key),
      dependsOn: discovery,
      acceptanceCriteria: [
        'docs/architecture/overview.md covers components, data flow and failure modes',
        'Each non-functional target has a stated approach',
      ],
      areas: ['architecture'],
      rank: 0,
    }),
    task({
      key: TECH_STACK_KEY,
      title: 'Choose the technology stack',
      what: 'Choose languages, frameworks, storage and libraries within the technical constraints; record each choice and its alternatives as an ADR.',
      phase: 'architecture',
      agentType: pickAgent(catalog, 'eng-backend'),
      kind: 'design',
      requirementKeys: selectConstraints(prd).map((r) => r.key),
      dependsOn: discovery,
      acceptanceCriteria: [
        'Every technical constraint is satisfied or an exception is justified',
        'ADRs record the choices',
      ],
      areas: ['architecture:tech-stack'],
      rank: 0,
    }),
  ];
  const base = [SYSTEM_DESIGN_KEY, TECH_STACK_KEY];

  const dataModels = selectKind(prd, 'data_model');
  for (const r of dataModels) {
    tasks.push(
      task({
        key: designKey(r),
        title: `Data model: ${r.title}`,
        what: `Design the "${r.title}" schema from the PRD's data model and write its SQL migration, with constraints and indexes for the queries the requirements imply.`,
        phase: 'architecture',
        agentType: pickAgent(catalog, routeRequirement(r, catalog, config.routing).agentType, 'eng-database'),
        kind: 'design',
        requirementKeys: [r.key],
        dependsOn: base,
        acceptanceCriteria: [
          `A migration creates ${r.title} with every listed field`,
          'Foreign keys, enums and indexes are defined',
          'The migration applies cleanly to an empty database',
        ],
        areas: [areaOf('data', slugify(r.title))],
      }),
    );
  }
  // Without a data model section the requirements still imply one; someone has to design it.
  if (dataModels.length === 0 && selectBuildable(prd).length > 0) {
    tasks.push(
      task({
        key: DERIVED_DATA_MODEL_KEY,
        title: 'Data model',
        what: 'Derive the data model from the requirements and write the SQL migrations for it.',
        phase: 'architecture',
        agentType: pickAgent(catalog, 'eng-database'),
        kind: 'design',
        requirementKeys: [],
        dependsOn: base,
        acceptanceCriteria: [
          'Migrations create every entity the requirements need',
          'The migrations apply cleanly to an empty database',
        ],
        areas: ['data'],
      }),
    );
  }

  const entities = entityDesigns(prd.requirements, new Set(tasks.map((t) => t.key)));
  for (const r of selectKind(prd, 'api')) {
    tasks.push(
      task({
        key: designKey(r),
        title: `API contract: ${r.title}`,
        what: `Specify the "${r.title}" endpoints as JSON schemas for requests and responses (the OpenAPI document is generated from them), including errors, pagination and authentication.`,
        phase: 'architecture',
        agentType: pickAgent(catalog, routeRequirement(r, catalog, config.routing).agentType, 'eng-api'),
        kind: 'design',
        requirementKeys: [r.key],
        dependsOn: [...base, ...entities.designsFor(r.text)],
        acceptanceCriteria: [
          'Every endpoint listed has a request and response schema',
          'Error responses share one documented shape',
        ],
        areas: [areaOf('api', slugify(r.title))],
      }),
    );
  }
  return tasks;
}

export interface EntityDesigns {
  /** Every planned data-model design, in plan order. */
  readonly all: readonly string[];
  /**
   * The designs of the entities a text names ("each task has..." → the Task
   * design). The derived data model, having no entity names, is named by every text.
   */
  designsFor(text: string): string[];
}

/** The data-model designs among `planned`, matched to the entities the PRD names. */
export function entityDesigns(reqs: readonly Requirement[], planned: ReadonlySet<string>): EntityDesigns {
  // By entity name: two entities of one name are one entity, the later definition wins.
  const byEntity = new Map<string, string>();
  for (const r of reqs)
    if (r.kind === 'data_model' && planned.has(designKey(r))) byEntity.set(slugify(r.title), designKey(r));
  if (planned.has(DERIVED_DATA_MODEL_KEY)) byEntity.set('*', DERIVED_DATA_MODEL_KEY);
  const patterns = [...byEntity].map(
    ([entity, key]) =>
      [
        entity === '*' ? /(?:)/u : new RegExp(`(?<![a-z])${entity.replace(/-/gu, '[ _-]?')}s?(?![a-z])`, 'u'),
        key,
      ] as const,
  );
  return {
    all: [...byEntity.values()],
    designsFor: (text) => {
      const lower = text.toLowerCase();
      return patterns.filter(([re]) => re.test(lower)).map(([, key]) => key);
    },
  };
}
