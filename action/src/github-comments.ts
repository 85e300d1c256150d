/**
 * One comment per pull request, kept up to date: found by a marker in its body
 * among the issue comments (GitHub REST, paginated), edited in place, or
 * created. Global fetch, with a timeout on every request.
 */

export interface CommentTarget {
  /** GITHUB_API_URL, e.g. https://api.github.com */
  apiUrl: string;
  owner: string;
  repo: string;
  /** The pull request's number (pull requests are issues for comments). */
  issueNumber: number;
  token: string;
  timeoutMs?: number;
}

export interface PostedComment {
  id: number;
  url: string;
  /** True when an existing comment was edited. */
  updated: boolean;
}

export class GitHubApiError extends Error {
  override readonly name = 'GitHubApiError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

interface IssueComment {
  id: number;
  body?: string | null;
  html_url: string;
}

const PER_PAGE = 100;
/** More pages than any pull request has comments; a stop against a misbehaving server. */
const MAX_PAGES = 50;

async function request<T>(t: CommentTarget, method: string, path: string, what: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${t.apiUrl.replace(/\/+$/u, '')}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${t.token}`,
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        'user-agent': 'samgita-action',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(t.timeoutMs ?? 30_000),
    });
  } catch (err) {
    const reason = err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : String(err);
    throw new GitHubApiError(`GitHub API: ${what} failed: ${reason}`, 0);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 300);
    try {
      message = String((JSON.parse(text) as { message?: unknown }).message ?? message);
    } catch {}
    throw new GitHubApiError(
      `GitHub API: ${what} failed (HTTP ${res.status}: ${message})${advice(res.status)}`,
      res.status,
    );
  }
  return (text ? JSON.parse(text) : null) as T;
}

/** Which permission a refusal points to. */
function advice(status: number): string {
  if (status !== 403 && status !== 404) return '';
  return (
    '. The workflow token needs `pull-requests: write` (comments on pull requests; `issues: write` also grants it) — ' +
    'add `permissions: { contents: read, pull-requests: write }` to the job. On pull requests from forks the ' +
    'token is read-only: run the workflow on `pull_request_target` (mode plan runs nothing from the pull request)'
  );
}

/** Every comment of the issue / pull request, page by page. */
export async function listComments(t: CommentTarget): Promise<IssueComment[]> {
  const all: IssueComment[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const batch = await request<IssueComment[]>(
      t,
      'GET',
      `/repos/${t.owner}/${t.repo}/issues/${t.issueNumber}/comments?per_page=${PER_PAGE}&page=${page}`,
      `listing the comments of #${t.issueNumber}`,
    );
    all.push(...batch);
    if (batch.length < PER_PAGE) break;
  }
  return all;
}

/** Edits the comment whose body starts with `marker`, or creates one. */
export async function upsertComment(t: CommentTarget, marker: string, body: string): Promise<PostedComment> {
  const existing = (await listComments(t)).find((c) => (c.body ?? '').trimStart().startsWith(marker));
  if (existing) {
    const c = await request<IssueComment>(
      t,
      'PATCH',
      `/repos/${t.owner}/${t.repo}/issues/comments/${existing.id}`,
      `updating comment ${existing.id} on #${t.issueNumber}`,
      { body },
    );
    return { id: c.id, url: c.html_url, updated: true };
  }
  const c = await request<IssueComment>(
    t,
    'POST',
    `/repos/${t.owner}/${t.repo}/issues/${t.issueNumber}/comments`,
    `commenting on #${t.issueNumber}`,
    { body },
  );
  return { id: c.id, url: c.html_url, updated: false };
}
