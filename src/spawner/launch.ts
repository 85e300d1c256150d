/**
 * Starts a long-running child in its own process group (the Claude CLI) and
 * hands back its output as it comes, its exit, and the moment its output
 * ends. Through the spawner process when the runner uses one: the runner's
 * main thread then never forks (Node's fork + exec cost it ~9 ms a task on a
 * 2-core VM, a fifth of a 1,000-agent start), and the child writes straight to
 * the runner's unix socket. In-process otherwise, or when the spawner cannot
 * take it (the socket cannot be made, the helper is gone).
 *
 * A child whose spawner dies while it runs cannot report its exit: it is
 * killed (SIGKILL to its group) and reported as killed, so the caller sees a
 * failed run and nothing of it runs on unwatched. A spawner that dies (or
 * stops answering) after forking but before naming the child's pid leaves a
 * child nobody knows: each launch carries an id of its own in the child's
 * environment, and every process carrying it is killed before the launch is
 * retried in-process.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { logger } from '../log/logger.js';
import { pidsWithEnv } from './alive.js';
import { type Spawner, SpawnerError, spawner } from './helper.js';
import { OutputSockets } from './output-sockets.js';

export interface LaunchSpec {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Written to the child's stdin, which is then closed. */
  input: string;
}

export interface ExitStatus {
  exitCode: number | undefined;
  signal: string | undefined;
}

export interface Launched {
  /** Undefined when it could not be started; `error` says why. */
  pid: number | undefined;
  readonly error: NodeJS.ErrnoException | undefined;
  /** Where stdout and stderr go, chunk by chunk; call once, at once. */
  read(stdout: (chunk: Buffer) => void, stderr: (chunk: Buffer) => void): void;
  /** Resolves when the process exited (a grandchild may still hold its output open). */
  exited: Promise<ExitStatus>;
  /** Resolves once it exited and its output is closed. */
  closed: Promise<ExitStatus>;
  /** Which way it was started. */
  via: 'spawner' | 'in-process';
}

/** Starts the child; never rejects (a child that could not start has `error`). */
export async function launchDetached(spec: LaunchSpec): Promise<Launched> {
  const helper = spawner();
  if (helper && !socketless.has(helper)) {
    const viaHelper = await launchInHelper(helper, spec).catch((err: Error & { code?: string }) => {
      if (err.code === 'ENOENT' || err.code === 'EACCES') return notStarted(err);
      // The helper or the socket failed, not the child: start it here instead.
      logger().warn({ err: err.message }, 'the spawner could not start the process: starting it in-process');
      return null;
    });
    if (viaHelper) return viaHelper;
  }
  return launchInProcess(spec);
}

function notStarted(err: NodeJS.ErrnoException): Launched {
  const status = Promise.resolve({ exitCode: undefined, signal: undefined });
  return { pid: undefined, error: err, read: () => {}, exited: status, closed: status, via: 'spawner' };
}

function launchInProcess(spec: LaunchSpec): Launched {
  const child = spawn(spec.file, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A child that exits (or fails to start) before reading all of its stdin makes the write
  // fail with EPIPE; its exit code and output say what happened.
  child.stdin?.on('error', () => {});
  child.stdin?.end(spec.input);
  let error: NodeJS.ErrnoException | undefined;
  const status = (code: number | null, sig: NodeJS.Signals | null): ExitStatus => ({
    exitCode: code ?? undefined,
    signal: sig ?? undefined,
  });
  const closed = new Promise<ExitStatus>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      error ??= err;
      // Not started at all: no 'close' will follow.
      if (child.pid === undefined) resolve({ exitCode: undefined, signal: undefined });
    });
    child.once('close', (code, sig) => resolve(status(code, sig)));
  });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, sig) => resolve(status(code, sig)));
    void closed.then(resolve);
  });
  return {
    pid: child.pid,
    // A missing binary's 'error' comes on a later tick: read it once `closed` settles.
    get error() {
      return error;
    },
    read(stdout, stderr) {
      child.stdout?.on('data', stdout);
      child.stderr?.on('data', stderr);
    },
    exited,
    closed,
    via: 'in-process',
  };
}

let sockets: OutputSockets | null = null;
let socketsOf: Spawner | null = null;
/** Spawners whose output socket could not be made (a TMPDIR too long for a unix socket path): they start nothing. */
const socketless = new WeakSet<Spawner>();

/** The output socket of this spawner, made on its first launch and removed with it. */
async function outputSockets(helper: Spawner): Promise<OutputSockets> {
  try {
    if (!sockets || socketsOf !== helper) {
      sockets?.close();
      sockets = null;
      const made = new OutputSockets();
      sockets = made;
      socketsOf = helper;
      helper.onClose(() => {
        made.close();
        if (sockets === made) sockets = null;
      });
    }
    const current = sockets;
    await current.listening().catch((err: unknown) => {
      current.close();
      if (sockets === current) sockets = null;
      throw err;
    });
    return current;
  } catch (err) {
    if (!socketless.has(helper))
      logger().warn(
        { err: err instanceof Error ? err.message : String(err) },
        "no unix socket for agents' output (is TMPDIR too long or not writable?): the runner starts them itself",
      );
    socketless.add(helper);
    throw err;
  }
}

async function launchInHelper(helper: Spawner, spec: LaunchSpec): Promise<Launched> {
  // Its errors are the socket's, never the child's: a missing TMPDIR is not a missing CLI (both ENOENT).
  const out = await outputSockets(helper).catch((err: unknown) => {
    throw new SpawnerError(`no output socket: ${err instanceof Error ? err.message : String(err)}`);
  });
  const token = randomUUID();
  // Not the token: the child could read it, and the token is what the runner's socket trusts.
  const launchId = randomUUID();
  const streams = new Map<1 | 2, Socket>();
  const ended = new Set<1 | 2>();
  let sinks: [(c: Buffer) => void, (c: Buffer) => void] | null = null;
  let exit: ExitStatus | null = null;
  let lost = false;
  let settleClosed: (s: ExitStatus) => void = () => {};
  let settleExited: (s: ExitStatus) => void = () => {};
  const closed = new Promise<ExitStatus>((r) => {
    settleClosed = r;
  });
  const exited = new Promise<ExitStatus>((r) => {
    settleExited = r;
  });
  const check = () => {
    // A spawner that died took the connections it had not handed over: those streams end with it.
    if (exit && (lost || ended.size === 2)) {
      forget();
      settleClosed(exit);
    }
  };
  const attach = (fd: 1 | 2, socket: Socket) => {
    if (sinks) socket.on('data', fd === 1 ? sinks[0] : sinks[1]).resume();
  };
  const forget = out.expect(token, {
    stream(fd, socket) {
      if (streams.has(fd)) {
        socket.destroy();
        return;
      }
      streams.set(fd, socket);
      socket.once('close', () => {
        ended.add(fd);
        check();
      });
      attach(fd, socket);
    },
  });
  let pid: number | undefined;
  try {
    pid = await helper.launch(
      {
        file: spec.file,
        args: spec.args,
        cwd: spec.cwd,
        env: { ...spec.env, [LAUNCH_ID_ENV]: launchId },
        input: spec.input,
        socket: out.path,
        token,
      },
      {
        exited(code, signal) {
          exit = { exitCode: code ?? undefined, signal: signal ?? undefined };
          settleExited(exit);
          check();
        },
        lost(why) {
          // Before its pid was answered the launch itself fails (and is started in-process instead).
          if (pid === undefined) return;
          logger().warn({ pid, why }, 'the spawner died while a process it started ran: killing it');
          killGroup(pid);
          lost = true;
          exit = { exitCode: undefined, signal: 'SIGKILL' };
          settleExited(exit);
          check();
        },
      },
    );
  } catch (err) {
    forget();
    for (const s of streams.values()) s.destroy();
    // The spawner died or went silent: it may have forked the child before it could say so.
    if (err instanceof SpawnerError) killUnnamed(launchId);
    throw err;
  }
  return {
    pid,
    error: undefined,
    read(stdout, stderr) {
      sinks = [stdout, stderr];
      for (const [fd, socket] of streams) attach(fd, socket);
    },
    exited,
    closed,
    via: 'spawner',
  };
}

/** Names each launch in its child's environment (inherited by everything the child starts). */
export const LAUNCH_ID_ENV = 'SAMGITA_LAUNCH_ID';

/**
 * How long after the spawner's death a child it forked may still be between
 * fork and exec, carrying the spawner's environment instead of its own.
 */
const UNNAMED_RECHECK_MS = 1_000;

/** Kills whatever carries this launch's id, now and once more a moment later (see UNNAMED_RECHECK_MS). */
function killUnnamed(launchId: string): void {
  const sweep = () => {
    for (const pid of pidsWithEnv(LAUNCH_ID_ENV, launchId)) {
      logger().warn({ pid }, 'killing a process the spawner started but never named');
      killGroup(pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  sweep();
  setTimeout(sweep, UNNAMED_RECHECK_MS).unref();
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}
