import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { SamgitaConfig } from '../config/samgita-yaml/index.js';
import { type ErrorCode, SamgitaError } from '../errors.js';
import type planTask from './thread-worker.js';
import { type PlannedPrd, parseBoundedPrd, planPrdNow } from './thread-worker.js';

/**
 * Planning off the event loop. Parsing and planning a large PRD takes seconds
 * of CPU; on the server's thread that would stall every request, SSE stream
 * and webhook. PRDs past a few KiB are planned on a worker thread (piscina: a
 * well-kept pool by Node core contributors, with queue limits and aborts), with
 * a time limit; small ones stay inline, where a thread would cost more than it
 * saves (a CLI planning a short PRD).
 */

/** Below this many bytes, planning takes a few milliseconds: done inline. */
export const INLINE_PRD_BYTES = 4 * 1024;
/** Longest one plan may take on the worker before it is abandoned (the thread is terminated). */
export const PLAN_TIME_LIMIT_MS = 30_000;
/** Plans waiting for the worker beyond the running one; more is refused as busy. */
const MAX_QUEUE = 16;

let pool: Piscina | null = null;

function workerPool(): Piscina {
  if (pool) return pool;
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const entry = fileURLToPath(new URL(`./thread-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const boot = fileURLToPath(new URL('../../bin/worker-from-source.mjs', import.meta.url));
  pool = new Piscina({
    filename: fromSource && existsSync(boot) ? boot : entry,
    workerData: { samgitaEntry: new URL(`file://${entry}`).href },
    // One thread: planning is rare and the machine's other cores belong to agents and PostgreSQL.
    minThreads: 0,
    maxThreads: 1,
    maxQueue: MAX_QUEUE,
    idleTimeout: 60_000,
  });
  return pool;
}

/** The planner is busy with too many PRDs at once (the caller answers 503 with Retry-After). */
export class PlannerBusyError extends Error {
  override readonly name = 'PlannerBusyError';
}

/** Parses and plans a PRD, off the event loop when it is large enough to matter. */
export async function planPrd(prd: string, config: SamgitaConfig): Promise<PlannedPrd> {
  if (Buffer.byteLength(prd) <= INLINE_PRD_BYTES) return planPrdNow(prd, config);
  return (await onThread(prd, config)) as PlannedPrd;
}

/** Checks that a PRD can be planned (its size, its number of requirements) before it is stored. */
export async function checkPrd(prd: string): Promise<void> {
  if (Buffer.byteLength(prd) <= INLINE_PRD_BYTES) parseBoundedPrd(prd);
  else await onThread(prd, null);
}

async function onThread(prd: string, config: SamgitaConfig | null): Promise<PlannedPrd | null> {
  let result: ReturnType<typeof planTask>;
  try {
    result = (await workerPool().run(
      { prd, config },
      { signal: AbortSignal.timeout(PLAN_TIME_LIMIT_MS) },
    )) as ReturnType<typeof planTask>;
  } catch (err) {
    const e = err as { name?: string; message?: string };
    if (e.name === 'AbortError' || e.name === 'TimeoutError') {
      throw new SamgitaError('PRD_INVALID', `planning the PRD took longer than ${PLAN_TIME_LIMIT_MS / 1000} s`, {
        hint: 'split the PRD into smaller projects',
      });
    }
    if (/queue is at limit/i.test(e.message ?? '')) throw new PlannerBusyError('the planner is busy; retry shortly');
    throw err;
  }
  if (result.ok) return result.value;
  throw new SamgitaError(result.code as ErrorCode, result.message, { hint: result.hint });
}

/** Stops the worker thread (process shutdown; tests). */
export async function closePlanner(): Promise<void> {
  const p = pool;
  pool = null;
  await p?.destroy();
}
