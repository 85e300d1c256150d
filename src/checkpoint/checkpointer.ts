/**
 * When a runner writes state commits: while it works on a project, at most
 * every `intervalMs` (5 s) and only if something changed (an unchanged state
 * writes no commit), plus soon after any event of a project it works on (a
 * phase change, a pause), after its last task here ends, and once more when it
 * stops. In-process rather than a queued job: a runner whose every slot is busy
 * with long tasks still records where they stand. Another runner of the same project writes too; the ref
 * moves by compare-and-swap and both derive the same state from PostgreSQL.
 */
import { errorMessage } from '../errors.js';
import { type CheckpointDeps, checkpointHere } from './checkpoint-here.js';
import type { CheckpointMemo } from './write-state.js';

/** After its last task here ends, a project is still written for this long (its advance, its phase change). */
const LINGER_MS = 30_000;
/**
 * A write may take at most this share of the time: a large project (a thousand tasks: about
 * 1 s a write on a busy 2-core machine) is written less often than every tick, so the
 * checkpoint never costs a runner more than a tenth of a core (and its garbage) per project.
 */
const MAX_SHARE = 0.1;
/**
 * And at most once per this much time per task of the project: reading and writing a state
 * allocates in proportion to the plan, so a thousand-task project is written every 20 s, not 5.
 */
const MS_PER_TASK = 20;
/** After a failed write or push, the next try. */
const RETRY_AFTER_MS = 5_000;

export class Checkpointer {
  /** Project → when it was last active here. */
  private readonly active = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private readonly writing = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  /** A project in flight is due every tick; its mark spares the full read when nothing moved. */
  private readonly memo: CheckpointMemo = new Map();
  /** Project → not written again before (its last write's cost, see MAX_SHARE). */
  private readonly notBefore = new Map<string, number>();
  /** The projects in flight at the last tick. */
  private lastInFlight = new Set<string>();

  constructor(
    private readonly deps: CheckpointDeps,
    /** The projects this runner has a task of in flight now. */
    private readonly inFlight: () => Iterable<string>,
    intervalMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** A task of the project runs (or ended) here. */
  touch(projectId: string): void {
    this.active.set(projectId, this.now());
    this.dirty.add(projectId);
  }

  /** Something happened to the project (an event): written at the next tick if this runner works on it. */
  noticed(projectId: string): void {
    if (this.active.has(projectId)) this.dirty.add(projectId);
  }

  /** Writes what is due now (the runner stopping); waits for writes in progress. */
  async flush(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const id of this.active.keys()) this.dirty.add(id);
    this.notBefore.clear();
    this.tick();
    await Promise.allSettled([...this.writing.values()]);
  }

  private tick(): void {
    const inFlight = new Set(this.inFlight());
    // A task that ended since the last tick (parked, completed) may have ended after a write that
    // read the project began: written once more, with or without an event that says so.
    for (const id of this.lastInFlight) if (!inFlight.has(id)) this.dirty.add(id);
    for (const id of inFlight) this.touch(id);
    this.lastInFlight = inFlight;
    const now = this.now();
    for (const [id, at] of this.active) {
      // A project with a task in flight changes all the time: due every tick; an idle one only when marked.
      if (now - at > LINGER_MS && !this.dirty.has(id)) this.active.delete(id);
    }
    for (const id of this.dirty) {
      if (this.writing.has(id) || (this.notBefore.get(id) ?? 0) > now) continue;
      this.dirty.delete(id);
      const started = this.now();
      const w = checkpointHere(this.deps, id, undefined, this.memo)
        .then(() => {
          const last = this.memo.get(id);
          if (last) this.notBefore.set(id, started + spacing(last.localMs, last.tasks));
        })
        .catch((err: unknown) => {
          this.deps.log.warn({ project: id, err: errorMessage(err) }, 'could not write the state ref');
          // Tried again (a failed push is pushed even if nothing changed), after a pause.
          this.dirty.add(id);
          this.notBefore.set(id, this.now() + RETRY_AFTER_MS);
        })
        .finally(() => this.writing.delete(id));
      this.writing.set(id, w);
    }
  }
}

/**
 * The share's spacing is capped: on a loaded machine a small project's write takes seconds of
 * wall time waiting for the CPU, not using it, and ten times that (30 s on CI) left a
 * GitHub project's state ref behind its pull request for as long.
 */
const MAX_SHARE_SPACING_MS = 15_000;

/** How long after a write starts the next may: its local cost at most a tenth of the time (capped), and the plan's floor. */
function spacing(localMs: number, tasks: number): number {
  return Math.max(Math.min(localMs / MAX_SHARE, MAX_SHARE_SPACING_MS), tasks * MS_PER_TASK);
}
