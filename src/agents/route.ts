import { SamgitaError } from '../errors.js';
import type { Requirement } from '../prd/types.js';
import type { AgentCatalog, AgentType, PhaseName, Swarm } from './catalog.js';

/** Requirement key (exact, or a glob with `*` such as "FR-6.*") → agent type. */
export type PinMap = Readonly<Record<string, string>>;

export interface RouteOptions {
  /** Prefer types that work in this phase (ties only, and candidates filter when `strictPhase`). */
  phase?: PhaseName | undefined;
  /** Only consider types of these swarms (default: engineering, operations, data). */
  swarms?: readonly Swarm[] | undefined;
}

export interface RouteDecision {
  agentType: string;
  reason: 'pinned' | 'keywords' | 'default';
  score: number;
  /** Keywords that matched, for explaining the choice in a plan. */
  matched: string[];
}

export type RoutableRequirement = Pick<Requirement, 'key' | 'kind' | 'title' | 'text' | 'sectionPath'>;

const DEFAULT_SWARMS: readonly Swarm[] = ['engineering', 'operations', 'data', 'custom'];
const FIELD_WEIGHTS = { title: 3, text: 2, section: 4 } as const;
/** Kinds whose agent type follows from the kind itself. */
const ROUTE_BY_KIND: Partial<Record<Requirement['kind'], string>> = { data_model: 'eng-database', api: 'eng-api' };

/**
 * Words that say where data is kept: "store…", "save…", "persist…", "storage",
 * "database", "in a file", "to disk".
 */
const PERSISTENCE =
  /(?<![a-z])(?:stor(?:e|es|ed|ing|age)|sav(?:e|es|ed|ing)|persist[a-z]*|databases?|(?:in|to|into|on)\s+(?:(?:an?|the)\s+)?(?:[a-z-]+\s+)?(?:file|disk)s?)(?![a-z])/u;

/**
 * Types whose work is reading stored data (metrics, reports), never deciding
 * how it is stored. A requirement that says where data is kept ("keep a
 * history in a file") is storage work even under a "Statistics" heading, and
 * an analyst given it would build a report instead of the storage.
 */
const READS_STORED_DATA: ReadonlySet<string> = new Set(['data-analytics']);

const DEFAULT_BY_KIND: Record<Requirement['kind'], string> = {
  functional: 'eng-backend',
  bullet: 'eng-backend',
  non_functional: 'eng-perf',
  data_model: 'eng-database',
  api: 'eng-api',
  acceptance: 'eng-qa',
  section: 'prod-pm',
};

/**
 * Picks the agent type for a requirement (FR-2.3). A pinned type wins; otherwise
 * every candidate type's keywords are matched (by word, allowing plural/verb
 * suffixes) against the title (weight 3), the rest of the text (2) and the section
 * headings (4: a heading like "Web Dashboard" groups its rows strongly),
 * multi-word keywords counting once per word. Highest score wins; ties go to the
 * type that works in `options.phase`, then to catalog order. No match: a default
 * per requirement kind. `data_model` and `api` requirements go to eng-database
 * and eng-api unless pinned. A requirement whose own title or text is about
 * storing data is not given to an analytics type (see READS_STORED_DATA).
 */
export function routeRequirement(
  req: RoutableRequirement,
  catalog: AgentCatalog,
  pinned?: string | PinMap | undefined,
  options: RouteOptions = {},
): RouteDecision {
  const pin = typeof pinned === 'string' ? pinned : pinned ? lookupPin(req.key, pinned) : undefined;
  if (pin !== undefined) {
    if (!catalog.has(pin)) {
      throw new SamgitaError('CONFIG_YAML_INVALID', `requirement ${req.key} is pinned to unknown agent type "${pin}"`, {
        hint: `Use one of: ${[...catalog.keys()].join(', ')}.`,
      });
    }
    return { agentType: pin, reason: 'pinned', score: 0, matched: [] };
  }

  const byKind = ROUTE_BY_KIND[req.kind];
  if (byKind !== undefined && catalog.has(byKind))
    return { agentType: byKind, reason: 'default', score: 0, matched: [] };

  const swarms = options.swarms ?? DEFAULT_SWARMS;
  const title = req.title.toLowerCase();
  let text = req.text.toLowerCase();
  if (text.startsWith(title)) text = text.slice(title.length);
  const fields = {
    title,
    text,
    section: req.sectionPath.join(' \n ').toLowerCase(),
  };
  const stores = PERSISTENCE.test(`${title}\n${text}`);
  let best: { type: AgentType; score: number; phaseFit: number; order: number; matched: string[] } | undefined;
  let order = 0;
  for (const type of catalog.values()) {
    order++;
    if (!swarms.includes(type.swarm)) continue;
    if (stores && READS_STORED_DATA.has(type.type)) continue;
    let score = 0;
    const matched: string[] = [];
    for (const keyword of type.keywords) {
      const words = keyword.split(/\s+/u).length;
      let hit = false;
      for (const [field, weight] of Object.entries(FIELD_WEIGHTS) as [keyof typeof fields, number][]) {
        if (matchesKeyword(fields[field], keyword)) {
          score += weight * words;
          hit = true;
        }
      }
      if (hit) matched.push(keyword);
    }
    if (score === 0) continue;
    const phaseFit = options.phase && type.phases.includes(options.phase) ? 1 : 0;
    const candidate = { type, score, phaseFit, order, matched };
    if (
      !best ||
      candidate.score > best.score ||
      (candidate.score === best.score && candidate.phaseFit > best.phaseFit)
    ) {
      best = candidate;
    }
  }
  if (best) return { agentType: best.type.type, reason: 'keywords', score: best.score, matched: best.matched };
  const fallback = DEFAULT_BY_KIND[req.kind];
  const agentType = catalog.has(fallback) ? fallback : (catalog.keys().next().value ?? fallback);
  return { agentType, reason: 'default', score: 0, matched: [] };
}

const keywordRegexCache = new Map<string, RegExp>();

/** Whole-word match of a keyword (or phrase) allowing a plural or verb suffix. */
export function matchesKeyword(haystack: string, keyword: string): boolean {
  let re = keywordRegexCache.get(keyword);
  if (!re) {
    const escaped = keyword
      .toLowerCase()
      .split(/\s+/u)
      .map((w) => w.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&'))
      .join('[\\s/-]+');
    re = new RegExp(`(?<![a-z0-9])${escaped}(?:s|es|ed|d|ing)?(?![a-z0-9])`, 'u');
    keywordRegexCache.set(keyword, re);
  }
  return re.test(haystack);
}

function lookupPin(key: string, pins: PinMap): string | undefined {
  if (pins[key] !== undefined) return pins[key];
  let best: [string, string] | undefined;
  for (const [pattern, type] of Object.entries(pins)) {
    if (!pattern.includes('*')) continue;
    const re = new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/gu, '\\$&'))
        .join('.*')}$`,
      'u',
    );
    if (re.test(key) && (!best || pattern.length > best[0].length)) best = [pattern, type];
  }
  return best?.[1];
}
