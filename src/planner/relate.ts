import type { Requirement } from '../prd/types.js';

/**
 * Layers of a system, bottom up: storage, then services, then the interfaces
 * over them, then the screens. A requirement is built on top of the
 * lower-layer requirements it talks about, so it may depend only on tasks of a
 * strictly lower layer (which also keeps these dependencies acyclic).
 * Types not listed sit with the services.
 */
const LAYER: Readonly<Record<string, number>> = {
  'eng-database': 0,
  'data-eng': 1,
  'eng-backend': 1,
  'eng-infra': 1,
  'data-ml': 1,
  'eng-api': 2,
  'ops-security': 2,
  'ops-monitor': 2,
  'data-analytics': 2,
  'eng-perf': 2,
  'ops-sre': 2,
  'eng-frontend': 3,
  'eng-mobile': 3,
};

export function layerOf(agentType: string): number {
  return LAYER[agentType] ?? 1;
}

const STOP = new Set(
  'a an and are as at be by for from in into is it of on or that the this to with without via per all any its their can if not but when then also only each both via using use set get add new'.split(
    ' ',
  ),
);

/** Content words, crudely stemmed so "project", "projects" and "projected" meet. */
export function terms(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^a-z0-9]+/u)
      .filter((w) => w.length > 2 && !STOP.has(w) && !/^\d+$/u.test(w))
      .map((w) => w.replace(/(ing|ed|es|s)$/u, '')),
  );
}

/**
 * For each requirement, the words at most a fifth of the requirements use.
 * Two requirements sharing such a word are about the same thing ("kanban",
 * "snapshot"); sharing a common one ("project", "agent") says nothing.
 */
export function rareTermsOf(reqs: readonly Requirement[]): Map<string, Set<string>> {
  const df = new Map<string, number>();
  const own = reqs.map((r) => terms(`${r.title} ${r.text}`));
  for (const words of own) for (const w of words) df.set(w, (df.get(w) ?? 0) + 1);
  const rare = (w: string) => (df.get(w) ?? 0) / Math.max(reqs.length, 1) <= 0.2;
  return new Map(reqs.map((r, i) => [r.key, new Set([...(own[i] ?? [])].filter(rare))]));
}

export function sharedCount(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): number {
  if (!a || !b) return 0;
  let n = 0;
  for (const x of a) if (b.has(x)) n++;
  return n;
}
