import { execa } from 'execa';
import { SamgitaError } from '../errors.js';

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
  const result = await execa('git', args, {
    cwd,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    reject: false,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    stripFinalNewline: !options.raw,
    env: { GIT_TERMINAL_PROMPT: '0', ...options.env },
  });
  if (result.exitCode !== 0 || result.timedOut) {
    if (options.allowFailure) return '';
    const why = result.timedOut
      ? `timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`
      : result.stderr.trim();
    throw new SamgitaError('GIT_FAILED', `git ${args.join(' ')} failed in ${cwd}: ${why}`, {
      details: { exitCode: result.exitCode, stderr: result.stderr.slice(-2000) },
    });
  }
  return result.stdout;
}

export async function tryGit(cwd: string, args: string[], options: GitOptions = {}): Promise<string | null> {
  try {
    return await git(cwd, args, options);
  } catch {
    return null;
  }
}
