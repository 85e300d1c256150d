/**
 * The sandbox boundary: what an agent makes run (verify commands, the code
 * they test) runs under bubblewrap. The root filesystem is read-only, the
 * task's worktree the only writable place besides a private /tmp and a fresh
 * HOME; Samgita's home (other worktrees, clones, the embedded database), the
 * host's HOME (~/.ssh, ~/.claude) and /root are replaced by empty tmpfs; the
 * processes get their own PID namespace (killing bwrap ends every one of
 * them, and none outlives the parent) and, unless allowed, no network at all
 * (a network namespace with only its own loopback: the host's 127.0.0.1
 * services, PostgreSQL included, are unreachable).
 *
 * `bwrapArgs` is pure; `probeSandbox` is the one I/O here (is bwrap usable on
 * this machine, and why not).
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { SamgitaError } from '../errors.js';

export interface SandboxSpec {
  /** The one writable directory (the task's worktree, or the merge queue's). */
  workdir: string;
  /** Directories that must be hidden (replaced by an empty tmpfs). */
  hide: string[];
  /** Read-only views kept inside hidden directories (the repository's .git a worktree points into). */
  readOnly: string[];
  /** Host paths bound writable at a path inside (the egress sockets; operator-given extra paths). */
  bind?: Array<{ src: string; dest: string }>;
  network: 'none' | 'host';
  /** The workdir read-only too (PRD analysis only reads the repository). */
  readOnlyWorkdir?: boolean;
}

/** The bwrap argv that runs `command` (argv) inside the sandbox described by `spec`. */
export function bwrapArgs(spec: SandboxSpec, command: string[]): string[] {
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];
  const work = path.resolve(spec.workdir);
  const mounts: Array<{ at: string; args: string[] }> = [];
  for (const d of new Set(spec.hide.map((h) => path.resolve(h)))) {
    // A directory holding the workdir may be hidden (the workdir is bound back); the workdir or its insides not.
    if (d === '/' || d === work || d.startsWith(`${work}${path.sep}`)) continue;
    mounts.push({ at: d, args: ['--tmpfs', d] });
  }
  for (const d of spec.readOnly) mounts.push({ at: path.resolve(d), args: ['--ro-bind-try', d, d] });
  for (const b of spec.bind ?? []) mounts.push({ at: path.resolve(b.dest), args: ['--bind-try', b.src, b.dest] });
  mounts.push({ at: work, args: [spec.readOnlyWorkdir ? '--ro-bind' : '--bind', work, work] });
  // Outermost first (a stable sort keeps hide, read-only, bind, workdir at equal depth): a mount on a
  // directory covers whatever was mounted inside it before, so a bound-back path must come after the
  // tmpfs hiding its parent, and a hidden directory after a bind of the directory holding it.
  const depth = (p: string) => p.split(path.sep).filter(Boolean).length;
  for (const m of mounts.sort((a, b) => depth(a.at) - depth(b.at))) args.push(...m.args);
  args.push('--dir', SANDBOX_HOME, '--chdir', work);
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session');
  if (spec.network === 'none') args.push('--unshare-net');
  args.push('--', ...command);
  return args;
}

/** HOME inside the sandbox: empty and private to the run. */
export const SANDBOX_HOME = '/tmp/home';

/** What every sandbox hides: Samgita's home, the host user's HOME, /root. */
export function defaultHidden(samgitaHome: string): string[] {
  return [samgitaHome, os.homedir(), '/root'];
}

/** Refuses (SANDBOX_UNAVAILABLE, whose remedy errors.ts gives) when bubblewrap cannot run here. */
export async function requireSandbox(what: string): Promise<void> {
  const probe = await probeSandbox();
  if (!probe.available) throw new SamgitaError('SANDBOX_UNAVAILABLE', `cannot sandbox ${what}: ${probe.reason}`);
}

export type SandboxProbe = { available: true; version: string } | { available: false; reason: string };

let probed: Promise<SandboxProbe> | null = null;

/** Whether bubblewrap runs here, asked once per process (a real sandboxed `true`, not just `--version`). */
export function probeSandbox(bin = 'bwrap'): Promise<SandboxProbe> {
  if (bin === 'bwrap' && probed) return probed;
  const p = new Promise<SandboxProbe>((resolve) => {
    if (process.platform !== 'linux') {
      resolve({ available: false, reason: `bubblewrap needs Linux (this is ${process.platform})` });
      return;
    }
    execFile(
      bin,
      ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-pid', '--unshare-net', '--', 'true'],
      { timeout: 10_000 },
      (err, _out, stderr) => {
        if (!err) {
          execFile(bin, ['--version'], { timeout: 5_000 }, (_e, out) =>
            resolve({ available: true, version: String(out).trim() || 'bubblewrap' }),
          );
          return;
        }
        const code = (err as NodeJS.ErrnoException).code;
        resolve({
          available: false,
          reason:
            code === 'ENOENT'
              ? 'bubblewrap (bwrap) is not installed'
              : `bubblewrap cannot create namespaces here: ${String(stderr).trim() || err.message}`,
        });
      },
    );
  });
  if (bin === 'bwrap') probed = p;
  return p;
}
