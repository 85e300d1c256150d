import { type ChildProcess, spawn } from 'node:child_process';
import { SAMGITA_BIN } from './cli.js';

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stderr(): string;
  /** SIGKILL and wait for the exit (no cleanup runs: a crash). */
  kill(): Promise<void>;
}

/** Polls `fn` until it returns something truthy; the deadline only bounds a hang, it never passes a test. */
export async function until<T>(what: string, fn: () => T | Promise<T>, ms = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `samgita serve` on a free port as a real process, from the sources. */
export async function spawnServe(env: Record<string, string>, args: string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [SAMGITA_BIN, 'serve', '--port', '0', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      SAMGITA_FROM_SOURCE: '1',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const url = await until(
    'samgita serve to listen',
    () => {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${err}`);
      return /listening on (http:\/\/\S+)/.exec(err)?.[1];
    },
    60_000,
  );
  return {
    child,
    url,
    stderr: () => err,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
