import { ProbotOctokit } from 'probot';
import type { Logger } from '../log/logger.js';

export interface OctokitTuning {
  /**
   * Throttling (primary and secondary rate limits) on by default; tests turn it
   * off because its write queue spaces writes a second apart.
   */
  throttle?: boolean;
  /** Multiplier for retry waits in ms (octokit default 1000); tests shrink it. */
  retryAfterBaseValue?: number;
  /** Retries for 5xx and rate limits. */
  retries?: number;
}

/**
 * The Octokit class the app uses: probot's (REST methods, pagination, retry,
 * throttling) with handlers that retry secondary rate limits too (probot's
 * default only logs them) and a bounded number of retries for 5xx. The
 * function form of `defaults` is required: probot merges its own options
 * first and ours are applied last.
 */
export function githubOctokit(log: Logger, tuning: OctokitTuning = {}): typeof ProbotOctokit {
  const retries = tuning.retries ?? 3;
  const base = tuning.retryAfterBaseValue ?? 1000;
  return ProbotOctokit.defaults((options: Record<string, unknown>) => ({
    ...options,
    retry: { ...(options.retry as object), enabled: true, retries, retryAfterBaseValue: base },
    throttle:
      tuning.throttle === false
        ? { enabled: false }
        : {
            ...(options.throttle as object),
            retryAfterBaseValue: base,
            onRateLimit: (after: number, o: { method: string; url: string }, _k: unknown, count: number) => {
              log.warn({ after, method: o.method, url: o.url, retry: count }, 'GitHub rate limit hit');
              return count < retries;
            },
            onSecondaryRateLimit: (after: number, o: { method: string; url: string }, _k: unknown, count: number) => {
              log.warn({ after, method: o.method, url: o.url, retry: count }, 'GitHub secondary rate limit hit');
              return count < retries;
            },
          },
  })) as typeof ProbotOctokit;
}

/** A GitHub API error's status and GitHub's own message, for reports. */
export function githubErrorReason(err: unknown): { status: number | null; message: string } {
  const e = err as { status?: number; message?: string; response?: { data?: { message?: string; errors?: unknown } } };
  const detail = e.response?.data?.message ?? e.message ?? String(err);
  const extra = e.response?.data?.errors ? ` ${JSON.stringify(e.response.data.errors)}` : '';
  return { status: typeof e.status === 'number' ? e.status : null, message: `${detail}${extra}` };
}

/** 5xx, 429, secondary limits and network errors are worth waiting out; other 4xx are not. */
export function isTransientGitHubError(err: unknown): boolean {
  const { status, message } = githubErrorReason(err);
  if (status === null) return true;
  if (status >= 500 || status === 429) return true;
  return status === 403 && /rate limit/i.test(message);
}
