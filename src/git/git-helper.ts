/**
 * Git commands run by a small helper process instead of the runner itself.
 *
 * Node starts a child with fork + exec, and fork copies the page tables of the
 * whole process, blocking the event loop until the child has exec'd. A runner
 * with 1,000 agents is ~200 MB: with three git calls per task start, a quarter
 * of this 2-core machine went to copying and tearing down that address space
 * (perf, bench/many-agents.ts 1000 60), and the runner's main thread spent most
 * of its time blocked in spawn. The helper is a ~60 MB Node process with
 * nothing else to do: its forks are several times cheaper, and the runner
 * only exchanges messages with it.
 *
 * One helper per runner process, started on the first call. If it dies, the
 * calls it had are failed (git may or may not have run them, so they are not
 * silently repeated) and the next call starts another; if it cannot be kept
 * alive at all, git runs in-process as before. Each call keeps its timeout:
 * the helper kills a git that overruns, and a helper that does not answer
 * within the timeout plus a grace is killed itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { logger } from '../log/logger.js';
import { HELPER_SCRIPT } from './helper-script.js';

export interface HelperRun {
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  input?: string;
  timeoutMs: number;
}

export interface HelperResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

type Reply = { id: number } & ({ error: string; code?: string } | HelperResult);

interface Pending {
  resolve: (r: HelperResult) => void;
  reject: (e: Error) => void;
  watchdog: NodeJS.Timeout;
}

/** How long past a call's own timeout (and git's SIGKILL 5 s after it) the helper may stay silent. */
const ANSWER_GRACE_MS = 15_000;
/** A helper that dies this soon after starting, this many times in a row, is given up on. */
const EARLY_DEATH_MS = 2_000;
const EARLY_DEATHS_MAX = 3;

export class GitHelperError extends Error {}

export class GitHelper {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private earlyDeaths = 0;
  private closed = false;

  /** False once the helper could not be kept alive: callers run git themselves. */
  get usable(): boolean {
    return !this.closed && this.earlyDeaths < EARLY_DEATHS_MAX;
  }

  run(call: HelperRun): Promise<HelperResult> {
    const child = this.child ?? this.start();
    const id = ++this.seq;
    return new Promise<HelperResult>((resolve, reject) => {
      const watchdog = setTimeout(() => {
        // The helper is stuck (stopped, swapped out): its calls fail and a new one starts.
        logger().warn({ timeoutMs: call.timeoutMs }, 'git helper did not answer in time: restarting it');
        child.kill('SIGKILL');
      }, call.timeoutMs + ANSWER_GRACE_MS);
      watchdog.unref();
      if (this.pending.size === 0) this.hold(child, true);
      this.pending.set(id, { resolve, reject, watchdog });
      child.send({ id, ...call }, (err) => {
        if (err) this.settle(id, new GitHelperError(`could not reach the git helper: ${err.message}`));
      });
    });
  }

  /** Stops the helper; calls still running fail. */
  close(): void {
    this.closed = true;
    // The helper exits when its channel closes (it leaves SIGTERM to the runner).
    if (this.child?.connected) this.child.disconnect();
    else this.child?.kill('SIGKILL');
  }

  private start(): ChildProcess {
    const startedAt = Date.now();
    // A small young generation and a slow-growing heap: its garbage is short messages
    // (3,000 calls: 88 MB RSS with V8's defaults, 62 MB with these).
    const child = spawn(
      process.execPath,
      ['--max-semi-space-size=1', '--heap-growing-percent=30', '-e', HELPER_SCRIPT],
      {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        env: process.env,
      },
    );
    this.child = child;
    child.on('message', (m: Reply) => {
      if ('error' in m) {
        const e = Object.assign(new Error(m.error), { code: m.code });
        this.settle(m.id, e);
      } else this.settle(m.id, m);
    });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = null;
      this.earlyDeaths = Date.now() - startedAt < EARLY_DEATH_MS ? this.earlyDeaths + 1 : 0;
      if (this.pending.size && !this.closed) logger().warn({ why, calls: this.pending.size }, 'git helper exited');
      for (const id of [...this.pending.keys()])
        this.settle(id, new GitHelperError(`the git helper process ${why} while git was running`));
    };
    child.once('error', (err) => gone(`failed (${err.message})`));
    child.once('exit', (code, signal) => gone(`exited (${signal ?? `code ${code}`})`));
    this.hold(child, false);
    return child;
  }

  private settle(id: number, outcome: HelperResult | Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.watchdog);
    if (this.pending.size === 0 && this.child) this.hold(this.child, false);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }

  /**
   * The helper keeps the runner's event loop alive only while a call is out:
   * an idle helper must not stop a finished `samgita run` from exiting, and a
   * pending call must not let it exit half-way.
   */
  private hold(child: ChildProcess, busy: boolean): void {
    const channel = child.channel as { ref?: () => void; unref?: () => void } | undefined;
    if (busy) {
      child.ref();
      channel?.ref?.();
    } else {
      child.unref();
      channel?.unref?.();
    }
  }
}

let shared: GitHelper | null = null;
let users = 0;

/**
 * From now on, git commands of this process go through a helper process (a
 * runner's choice). Returns the release: the helper stops when the last user
 * (several runners may share a process, as in tests) releases it.
 */
export function useGitHelper(): () => void {
  users++;
  if (!shared?.usable) shared = new GitHelper();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users > 0) return;
    shared?.close();
    shared = null;
  };
}

/** The helper to run git through, or null to run it in-process. */
export function gitHelper(): GitHelper | null {
  return shared?.usable ? shared : null;
}
