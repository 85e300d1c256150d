import { execa } from 'execa';
import { SamgitaError } from '../errors.js';
import { type HelperResult, spawner } from '../spawner/helper.js';

export interface GitOptions {
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Return null instead of throwing when git exits non-zero. */
  allowFailure?: boolean;
  /** Keep stdout byte for byte (file contents); by default a final newline is stripped. */
  raw?: boolean;
  /** Written to git's stdin (plumbing that reads lists: mktree, update-index --index-info, cat-file --batch). */
  input?: string;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** Runs one git command; every call has a timeout so a stuck git cannot hang a runner. */
export async function git(cwd: string, args: string[], options: GitOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let result: Pick<HelperResult, 'exitCode' | 'timedOut' | 'stdout' | 'stderr'>;
  try {
    result = await runGit(cwd, args, options, timeoutMs);
  } catch (err) {
    // The helper could not start git or died while it ran.
    if (options.allowFailure) return '';
    throw new SamgitaError('GIT_FAILED', `git ${args.join(' ')} failed in ${cwd}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (result.exitCode !== 0 || result.timedOut) {
    if (options.allowFailure) return '';
    const why = result.timedOut ? `timed out after ${timeoutMs} ms` : result.stderr.trim();
    throw new SamgitaError('GIT_FAILED', `git ${args.join(' ')} failed in ${cwd}: ${why}`, {
      details: { exitCode: result.exitCode, stderr: result.stderr.slice(-2000) },
    });
  }
  return result.stdout;
}

async function runGit(
  cwd: string,
  args: string[],
  options: GitOptions,
  timeoutMs: number,
): Promise<Pick<HelperResult, 'exitCode' | 'timedOut' | 'stdout' | 'stderr'>> {
  const env = { GIT_TERMINAL_PROMPT: '0', ...options.env };
  const helper = spawner();
  if (helper) {
    const r = await helper.run({
      args,
      cwd,
      env: { ...process.env, ...env },
      timeoutMs,
      ...(options.input === undefined ? {} : { input: options.input }),
    });
    // As execa's stripFinalNewline: one trailing newline.
    return options.raw ? r : { ...r, stdout: r.stdout.replace(/\r?\n$/, '') };
  }
  const r = await execa('git', args, {
    cwd,
    timeout: timeoutMs,
    reject: false,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    stripFinalNewline: !options.raw,
    env,
  });
  return { exitCode: r.exitCode ?? null, timedOut: r.timedOut, stdout: r.stdout, stderr: r.stderr };
}

export async function tryGit(cwd: string, args: string[], options: GitOptions = {}): Promise<string | null> {
  try {
    return await git(cwd, args, options);
  } catch {
    return null;
  }
}
