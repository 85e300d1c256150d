/**
 * Killing everything a Claude Code run started.
 *
 * The CLI runs `detached`, so its pid is its process group id; signalling the
 * group reaches the CLI and most helpers. But the CLI starts its Bash tool's
 * shells in a session of their own (setsid), and their background jobs are
 * orphaned when the shell exits, so the group alone is not enough. Every child
 * is therefore started with a marker variable in its environment, which all
 * descendants inherit; on Linux we also find and signal every process whose
 * /proc/<pid>/environ carries it.
 */
import { eachEnviron, pidsWithEnv, variableAt } from '../spawner/alive.js';

export const RUN_MARKER_ENV = 'SAMGITA_CLAUDE_RUN_ID';

/** Signals a whole process group. Missing groups are not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw err;
  }
}

/** Whether any process of the group still exists (zombies included). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids (not ours) whose environment has `<RUN_MARKER_ENV>=<runId>`. Empty where /proc is missing. */
export function findMarkedPids(runId: string): number[] {
  return pidsWithEnv(RUN_MARKER_ENV, runId);
}

/** Every process (not ours) carrying a run marker, with the run id it carries. One read per process. */
export function findAllMarkedPids(): Array<{ pid: number; runId: string }> {
  const needle = Buffer.from(`${RUN_MARKER_ENV}=`);
  const out: Array<{ pid: number; runId: string }> = [];
  eachEnviron((pid, env) => {
    const at = variableAt(env, needle);
    if (at < 0) return;
    const start = at + needle.length;
    const end = env.indexOf(0, start);
    out.push({ pid, runId: env.toString('utf8', start, end < 0 ? env.length : end) });
  });
  return out;
}

/**
 * One sweep reads every process's environment: ~2,000 files with 1,000 agents,
 * so at 100 ms it took a fifth of a runner's main thread while agents finished
 * (bench/many-agents.ts, CPU profile). A straggler lives at most this long.
 */
const SWEEP_EVERY_MS = 1_000;
const pendingSweeps = new Map<string, NodeJS.Signals>();
let sweepTimer: NodeJS.Timeout | null = null;
let lastSweep = 0;

function sweepMarked(): void {
  sweepTimer = null;
  lastSweep = Date.now();
  const batch = new Map(pendingSweeps);
  pendingSweeps.clear();
  for (const { pid, runId } of findAllMarkedPids()) {
    const signal = batch.get(runId);
    if (!signal) continue;
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Like signalRun, for the routine clean-up after a CLI exits: the group is
 * signalled now, the /proc sweep for marked stragglers is shared by every run
 * that ended within the same second. One sweep reads every process's environment,
 * so with 1,000 agents a sweep per exit would be a million reads.
 */
export function signalRunSoon(pgid: number, runId: string, signal: NodeJS.Signals): void {
  signalGroup(pgid, signal);
  pendingSweeps.set(runId, signal);
  if (sweepTimer) return;
  sweepTimer = setTimeout(sweepMarked, Math.max(0, lastSweep + SWEEP_EVERY_MS - Date.now()));
}

/** Signals the run's process group and every process carrying its marker. Returns how many were signalled. */
export function signalRun(pgid: number, runId: string | undefined, signal: NodeJS.Signals): number {
  let n = signalGroup(pgid, signal) ? 1 : 0;
  if (runId) {
    for (const pid of findMarkedPids(runId)) {
      try {
        process.kill(pid, signal);
        n++;
      } catch {
        /* already gone */
      }
    }
  }
  return n;
}
