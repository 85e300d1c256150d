/**
 * Processes started by a small helper process instead of the runner itself:
 * git commands, and the Claude CLI of every agent.
 *
 * Node starts a child with fork + exec, and fork copies the page tables of the
 * whole process, blocking the event loop until the child has exec'd. A runner
 * with 1,000 agents is ~200 MB: with three git calls per task start, a quarter
 * of this 2-core machine went to copying and tearing down that address space
 * (perf, bench/many-agents.ts 1000 60), and the runner's main thread spent most
 * of its time blocked in spawn. The helper is a ~60 MB Node process with
 * nothing else to do: the runner only exchanges messages with it, and a
 * launched CLI writes its output straight to the runner's unix socket
 * (launch.ts), so the runner's main thread never forks.
 *
 * One helper per runner process, started on the first call. If it dies, the
 * git calls it had are failed (git may or may not have run them, so they are
 * not silently repeated), launched children are reported lost (launch.ts stops
 * them), and the next call starts another; if it cannot be kept alive at all,
 * everything runs in-process as before. Each git call keeps its timeout: the
 * helper kills a git that overruns, and a helper that does not answer within
 * the timeout plus a grace is killed itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { logger } from '../log/logger.js';
import { HELPER_SCRIPT } from './script.js';

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

/** A long-running child whose stdout and stderr connect to `socket`, each announced by `<token> <fd>`. */
export interface HelperLaunch {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  input: string;
  socket: string;
  token: string;
}

/** What becomes of a launched child after it started. */
export interface LaunchWatch {
  exited(code: number | null, signal: string | null): void;
  /** The helper died: the child's exit will never be reported. */
  lost(why: string): void;
}

type Reply = { id: number } & (
  | { error: string; code?: string }
  | HelperResult
  | { pid: number }
  | { exit: { code: number | null; signal: string | null } }
);

interface Pending {
  resolve: (r: HelperResult | { pid: number }) => void;
  reject: (e: Error) => void;
  watchdog: NodeJS.Timeout;
}

/** How long past a call's own timeout (and git's SIGKILL 5 s after it) the helper may stay silent. */
const ANSWER_GRACE_MS = 15_000;
/** How long a launch may take to be answered (the helper connects to the runner, then forks). */
const LAUNCH_ANSWER_MS = 60_000;
/** A helper that dies this soon after starting, this many times in a row, is given up on. */
const EARLY_DEATH_MS = 2_000;
const EARLY_DEATHS_MAX = 3;

export class SpawnerError extends Error {}

export class Spawner {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Launched children still running, by call id. */
  private readonly running = new Map<number, LaunchWatch>();
  private seq = 0;
  private earlyDeaths = 0;
  private closed = false;

  /** False once the helper could not be kept alive: callers start their processes themselves. */
  get usable(): boolean {
    return !this.closed && this.earlyDeaths < EARLY_DEATHS_MAX;
  }

  /** Runs git to completion in the helper. */
  run(call: HelperRun): Promise<HelperResult> {
    return this.ask(++this.seq, call, call.timeoutMs + ANSWER_GRACE_MS, 'git') as Promise<HelperResult>;
  }

  /** Starts a long-running child in the helper; resolves with its pid once it runs. */
  async launch(call: HelperLaunch, watch: LaunchWatch): Promise<number> {
    const id = ++this.seq;
    this.running.set(id, watch);
    try {
      const r = (await this.ask(id, { launch: call }, LAUNCH_ANSWER_MS, 'a launch')) as { pid: number };
      return r.pid;
    } catch (err) {
      this.running.delete(id);
      throw err;
    } finally {
      this.holdWhileBusy();
    }
  }

  private readonly closers: Array<() => void> = [];

  /** Runs `fn` when the helper is closed (what was made for its launches goes with it). */
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  /** Stops the helper; git calls still running fail, launched children are reported lost. */
  close(): void {
    this.closed = true;
    for (const fn of this.closers.splice(0)) fn();
    // The helper exits when its channel closes (it leaves SIGTERM to the runner).
    if (this.child?.connected) this.child.disconnect();
    else this.child?.kill('SIGKILL');
  }

  private ask(
    id: number,
    message: object,
    answerWithinMs: number,
    what: string,
  ): Promise<HelperResult | { pid: number }> {
    const child = this.child ?? this.start();
    return new Promise((resolve, reject) => {
      const watchdog = setTimeout(() => {
        // The helper is stuck (stopped, swapped out): its calls fail and a new one starts.
        logger().warn({ answerWithinMs, what }, 'the spawner did not answer in time: restarting it');
        child.kill('SIGKILL');
      }, answerWithinMs);
      watchdog.unref();
      this.pending.set(id, { resolve, reject, watchdog });
      this.holdWhileBusy();
      child.send({ id, ...message }, (err) => {
        if (err) this.settle(id, new SpawnerError(`could not reach the spawner process: ${err.message}`));
      });
    });
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
      if ('exit' in m) {
        const watch = this.running.get(m.id);
        this.running.delete(m.id);
        this.holdWhileBusy();
        watch?.exited(m.exit.code, m.exit.signal);
      } else if ('error' in m) {
        const e = Object.assign(new Error(m.error), { code: m.code });
        this.settle(m.id, e);
      } else this.settle(m.id, m);
    });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = null;
      this.earlyDeaths = Date.now() - startedAt < EARLY_DEATH_MS ? this.earlyDeaths + 1 : 0;
      if ((this.pending.size || this.running.size) && !this.closed)
        logger().warn({ why, calls: this.pending.size, launched: this.running.size }, 'the spawner process exited');
      for (const id of [...this.pending.keys()])
        this.settle(id, new SpawnerError(`the spawner process ${why} while its call was running`));
      const lost = [...this.running.values()];
      this.running.clear();
      this.holdWhileBusy();
      for (const watch of lost) watch.lost(`the spawner process ${why}`);
    };
    child.once('error', (err) => gone(`failed (${err.message})`));
    child.once('exit', (code, signal) => gone(`exited (${signal ?? `code ${code}`})`));
    this.hold(child, false);
    return child;
  }

  private settle(id: number, outcome: HelperResult | { pid: number } | Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.watchdog);
    this.holdWhileBusy();
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }

  private holdWhileBusy(): void {
    if (this.child) this.hold(this.child, this.pending.size + this.running.size > 0);
  }

  /**
   * The helper keeps the runner's event loop alive only while a call is out or
   * a launched child runs: an idle helper must not stop a finished `samgita run`
   * from exiting, and a pending call must not let it exit half-way.
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

let shared: Spawner | null = null;
let users = 0;

/**
 * From now on, git commands and Claude CLI runs of this process are started by
 * a helper process (a runner's choice). Returns the release: the helper stops
 * when the last user (several runners may share a process, as in tests) releases it.
 */
export function useSpawner(): () => void {
  users++;
  if (!shared?.usable) shared = new Spawner();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users > 0) return;
    shared?.close();
    shared = null;
  };
}

/** The helper to start processes through, or null to start them in-process. */
export function spawner(): Spawner | null {
  return shared?.usable ? shared : null;
}
