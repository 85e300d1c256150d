import { SamgitaError } from '../errors.js';

interface Node {
  key: string;
  dependsOn: readonly string[];
}

/**
 * Topological order of the tasks (Kahn's algorithm, ties broken by input order).
 * Throws PLAN_INVALID on duplicate keys, self-dependencies, unknown dependencies
 * or cycles, naming the offending tasks.
 */
export function topoSort<T extends Node>(tasks: readonly T[], source = 'plan'): T[] {
  const index = new Map<string, number>();
  tasks.forEach((t, i) => {
    if (index.has(t.key)) {
      throw new SamgitaError('PLAN_INVALID', `${source}: duplicate task key "${t.key}"`, { details: { key: t.key } });
    }
    index.set(t.key, i);
  });
  const indegree = tasks.map(() => 0);
  const dependents: number[][] = tasks.map(() => []);
  tasks.forEach((t, i) => {
    for (const dep of t.dependsOn) {
      if (dep === t.key) {
        throw new SamgitaError('PLAN_INVALID', `${source}: task "${t.key}" depends on itself`, {
          details: { key: t.key },
        });
      }
      const j = index.get(dep);
      if (j === undefined) {
        throw new SamgitaError('PLAN_INVALID', `${source}: task "${t.key}" depends on unknown task "${dep}"`, {
          details: { key: t.key, dependency: dep },
        });
      }
      indegree[i] = (indegree[i] ?? 0) + 1;
      dependents[j]?.push(i);
    }
  });
  const ready: number[] = [];
  indegree.forEach((d, i) => {
    if (d === 0) ready.push(i);
  });
  const out: T[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const i = ready.shift() as number;
    out.push(tasks[i] as T);
    for (const j of dependents[i] ?? []) {
      indegree[j] = (indegree[j] ?? 0) - 1;
      if (indegree[j] === 0) ready.push(j);
    }
  }
  if (out.length !== tasks.length) {
    const cycle = findCycle(tasks, index);
    throw new SamgitaError('PLAN_INVALID', `${source}: dependency cycle ${cycle.join(' → ')}`, {
      hint: 'Remove one of the dependencies in the cycle.',
      details: { cycle },
    });
  }
  return out;
}

function findCycle(tasks: readonly Node[], index: Map<string, number>): string[] {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (key: string): string[] | null => {
    state.set(key, 1);
    stack.push(key);
    const task = tasks[index.get(key) ?? -1];
    for (const dep of task?.dependsOn ?? []) {
      const s = state.get(dep);
      if (s === 1) return [...stack.slice(stack.indexOf(dep)), dep];
      if (s === undefined) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(key, 2);
    return null;
  };
  for (const t of tasks) {
    if (!state.has(t.key)) {
      const found = visit(t.key);
      if (found) return found;
    }
  }
  return [];
}

/** True when adding `from → to` (from depends on to) would close a cycle. */
export function wouldCycle(deps: ReadonlyMap<string, readonly string[]>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [to];
  while (stack.length > 0) {
    const k = stack.pop() as string;
    if (k === from) return true;
    if (seen.has(k)) continue;
    seen.add(k);
    stack.push(...(deps.get(k) ?? []));
  }
  return false;
}
