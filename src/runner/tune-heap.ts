/**
 * The V8 heap of a process that hosts agents (`samgita runner`, `samgita run`).
 *
 * Its garbage comes in bursts: hundreds of agents starting or settling at once
 * (queries, git output, stream events). Left to its defaults, V8 lets the old
 * generation grow to up to four times what survived the last full collection
 * before collecting again: with 1,000 agents the live heap is about 130 MB and
 * the runner's RSS peaked at 350–400 MB (bench/many-agents.ts). A bigger heap
 * also makes every child process cost more, since the fork that starts each git
 * and CLI process copies the parent's page tables in the main thread. A fixed
 * growing factor of 1.3 collects sooner; the peak falls to about 230 MB.
 *
 * V8 reads the factor at each full collection, so it takes effect when set
 * after start (measured on Node 20 and 24). Heap flags the user gave (node
 * flags or NODE_OPTIONS) are theirs and left alone.
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 30;

/** Flags that already decide how the heap grows or how large it is. */
const HEAP_FLAGS = /^--(heap-growing-percent|max-old-space-size|max-heap-size|optimize-for-size)(=|$)/;

export type HeapTuning = { kind: 'tuned'; flag: string } | { kind: 'left'; because: string };

/** Pure: what to do given the process's node flags and NODE_OPTIONS. */
export function decideHeapTuning(execArgv: readonly string[], nodeOptions: string | undefined): HeapTuning {
  const own = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].find((f) => HEAP_FLAGS.test(f.replace(/_/g, '-')));
  if (own) return { kind: 'left', because: `heap flag ${own} given` };
  return { kind: 'tuned', flag: `--heap-growing-percent=${HEAP_GROWING_PERCENT}` };
}

export function tuneHeap(): HeapTuning {
  const d = decideHeapTuning(process.execArgv, process.env.NODE_OPTIONS);
  if (d.kind === 'tuned') v8.setFlagsFromString(d.flag);
  return d;
}
