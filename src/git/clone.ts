import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Child processes that cannot outlive Samgita: `setpriv --pdeathsig KILL`
 * (util-linux) makes the kernel kill the child when the server dies, even by
 * SIGKILL, and `timeout -s KILL` (coreutils) enforces the deadline from inside
 * the child's own process tree, so an orphan never runs past it either.
 */

const probed = new Map<string, boolean>();
function available(cmd: string, args: string[]): boolean {
  let ok = probed.get(cmd);
  if (ok === undefined) {
    const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
    ok = r.status === 0;
    probed.set(cmd, ok);
  }
  return ok;
}
const hasSetpriv = () => available('setpriv', ['--pdeathsig', 'KILL', '--', 'true']);
const hasTimeout = () => available('timeout', ['5', 'true']);

/** argv that runs `cmd args` under pdeathsig and a self-enforced KILL timeout, where the tools exist. */
export function guardedArgv(cmd: string, args: string[], timeoutMs: number): string[] {
  const death = hasSetpriv() ? ['setpriv', '--pdeathsig', 'KILL', '--'] : [];
  let argv = [...death, cmd, ...args];
  // timeout forks the command; the command gets its own pdeathsig so it dies with timeout too.
  if (hasTimeout()) argv = [...death, 'timeout', '-s', 'KILL', (timeoutMs / 1000).toFixed(3), ...argv];
  return argv;
}

export interface GuardedResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command guarded as above; resolves with how it ended (never rejects on a non-zero exit). */
export function runGuarded(
  cmd: string,
  args: string[],
  opts: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<GuardedResult> {
  const argv = guardedArgv(cmd, args, opts.timeoutMs);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    // Backstop for a machine without `timeout`, or a `timeout` that cannot act.
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs + (hasTimeout() ? 2000 : 0));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const timedOut = Date.now() - started >= opts.timeoutMs && (signal === 'SIGKILL' || code === 124 || code === 137);
      resolve({ code, signal, stderr, timedOut });
    });
  });
}

const inFlight = new Set<string>();
const TMP_MARK = '.tmp-';

/** Removes `<dest>.tmp-*` left by a clone that never finished (a crash); skips clones running now. */
export async function removeStaleCloneTemps(dest: string): Promise<void> {
  const dir = path.dirname(dest);
  const prefix = `${path.basename(dest)}${TMP_MARK}`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const full = path.join(dir, name);
    if (name.startsWith(prefix) && !inFlight.has(full)) await rm(full, { recursive: true, force: true });
  }
}

function gitComplaint(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((l) => l.trim());
  return lines.find((l) => /^(fatal|error):/.test(l)) ?? lines.at(-1) ?? '';
}

export class CloneFailed extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/**
 * `git clone` into a temporary sibling of `dest`, renamed onto `dest` only
 * once complete (and after `prepare`), so `dest` exists only as a whole clone.
 * GIT_TERMINAL_PROMPT=0 always; stale temporaries of `dest` are removed first.
 */
export async function cloneAtomically(
  gitUrl: string,
  dest: string,
  opts: {
    timeoutMs: number;
    cloneArgs?: string[];
    env?: Record<string, string>;
    prepare?: (tmp: string) => Promise<void>;
  },
): Promise<void> {
  await mkdir(path.dirname(dest), { recursive: true });
  await removeStaleCloneTemps(dest);
  const tmp = `${dest}${TMP_MARK}${randomBytes(6).toString('hex')}`;
  inFlight.add(tmp);
  try {
    const r = await runGuarded(
      'git',
      ['-c', 'protocol.ext.allow=never', 'clone', ...(opts.cloneArgs ?? []), '--', gitUrl, tmp],
      {
        timeoutMs: opts.timeoutMs,
        cwd: path.dirname(dest),
        env: { ...process.env, ...opts.env, GIT_TERMINAL_PROMPT: '0' },
      },
    );
    if (r.code !== 0) {
      const why = r.timedOut
        ? `timed out after ${opts.timeoutMs} ms`
        : gitComplaint(r.stderr) || `git exited with ${r.code ?? r.signal}`;
      throw new CloneFailed(why.split(tmp).join(dest), r.timedOut, r.stderr.split(tmp).join(dest));
    }
    await opts.prepare?.(tmp);
    await rename(tmp, dest);
  } finally {
    inFlight.delete(tmp);
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}
