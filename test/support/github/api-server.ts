/**
 * A local GitHub REST API for tests. It routes with GitHub's own OpenAPI
 * description and checks every request body and response body against the
 * operation's schema; problems are collected in `violations` (a test asserts
 * it stays empty). Responses start from GitHub's documented examples with the
 * fields we model overridden, so they have GitHub's full shape.
 *
 * Auth is checked like GitHub does: `/app/*` needs an App JWT signed with the
 * App's private key; everything else needs an unexpired installation token
 * with access to the repository.
 */

import { execFileSync } from 'node:child_process';
import { createPublicKey, createVerify, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { githubOpenApi, type MatchedOperation } from './openapi.js';

export interface FakeRepo {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  defaultBranch: string;
  /** Path of the bare repository the git server serves. */
  bareDir: string;
  installationId: number;
  /** login → permission (admin | write | read | none). */
  collaborators: Map<string, 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none'>;
}

export interface FakePull {
  number: number;
  id: number;
  title: string;
  body: string | null;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  merged: boolean;
  mergeSha: string | null;
  repo: string;
}

export interface FakeIssue {
  number: number;
  id: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  labels: string[];
  repo: string;
  comments: { id: number; body: string }[];
}

export interface FakeCheckRun {
  id: number;
  repo: string;
  name: string;
  headSha: string;
  status: string;
  conclusion: string | null;
  output: { title?: string; summary?: string } | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  operationId: string | null;
  status: number;
  body: unknown;
}

export interface FakeGitHubState {
  appId: number;
  publicKeyPem: string;
  repos: Map<string, FakeRepo>;
  tokens: Map<string, { installationId: number; expiresAt: number }>;
  pulls: FakePull[];
  issues: FakeIssue[];
  checkRuns: FakeCheckRun[];
  nextNumber: Map<string, number>;
  nextId: number;
}

export interface FakeGitHub {
  url: string;
  state: FakeGitHubState;
  /** Schema violations and unimplemented operations seen so far. */
  violations: string[];
  requests: RecordedRequest[];
  /** URL base of the git server (set by the test), used for clone_url. */
  gitBaseUrl: string;
  /** Makes the next `count` requests matching `pattern` fail with `status` (5xx, 403 secondary limit, ...). */
  failNext(pattern: RegExp, status: number, count?: number): void;
  /** GitHub is back: drops every pending injected failure. */
  clearFailures(): void;
  addRepo(
    repo: Omit<FakeRepo, 'id' | 'fullName' | 'collaborators'> & { collaborators?: FakeRepo['collaborators'] },
  ): FakeRepo;
  tokenValid(token: string, fullName?: string): boolean;
  /** Expires every installation token now (to test refresh). */
  expireTokens(): void;
  close(): Promise<void>;
}

type Handler = (ctx: {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  repo: FakeRepo | null;
}) => { status: number; body?: unknown };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function b64url(s: string): Buffer {
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

export async function startFakeGitHub(opts: { appId: number; privateKey: string }): Promise<FakeGitHub> {
  const api = githubOpenApi();
  const state: FakeGitHubState = {
    appId: opts.appId,
    publicKeyPem: createPublicKey(opts.privateKey).export({ type: 'spki', format: 'pem' }).toString(),
    repos: new Map(),
    tokens: new Map(),
    pulls: [],
    issues: [],
    checkRuns: [],
    nextNumber: new Map(),
    nextId: 1000,
  };
  const violations: string[] = [];
  const requests: RecordedRequest[] = [];
  const failures: { pattern: RegExp; status: number; count: number }[] = [];
  let url = '';
  const self: FakeGitHub = {
    get url() {
      return url;
    },
    state,
    violations,
    requests,
    gitBaseUrl: 'http://git.invalid',
    failNext(pattern, status, count = 1) {
      failures.push({ pattern, status, count });
    },
    clearFailures() {
      failures.length = 0;
    },
    addRepo(r) {
      const fullName = `${r.owner}/${r.name}`;
      const repo: FakeRepo = { ...r, id: state.nextId++, fullName, collaborators: r.collaborators ?? new Map() };
      state.repos.set(fullName, repo);
      return repo;
    },
    tokenValid(token, fullName) {
      const t = state.tokens.get(token);
      if (!t || t.expiresAt <= Date.now()) return false;
      if (!fullName) return true;
      const repo = state.repos.get(fullName);
      return repo !== undefined && repo.installationId === t.installationId;
    },
    expireTokens() {
      for (const t of state.tokens.values()) t.expiresAt = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const nextNumber = (repo: string) => {
    const n = (state.nextNumber.get(repo) ?? 0) + 1;
    state.nextNumber.set(repo, n);
    return n;
  };
  const git = (repo: FakeRepo, args: string[]) =>
    execFileSync('git', args, { cwd: repo.bareDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const revParse = (repo: FakeRepo, ref: string): string | null => {
    try {
      return git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    } catch {
      return null;
    }
  };
  const htmlBase = 'https://github.com';

  const repoJson = (repo: FakeRepo, base: Record<string, unknown>) => {
    const owner = { ...(base.owner as Record<string, unknown>), login: repo.owner };
    return {
      ...base,
      id: repo.id,
      name: repo.name,
      full_name: repo.fullName,
      owner,
      private: true,
      html_url: `${htmlBase}/${repo.fullName}`,
      url: `${url}/repos/${repo.fullName}`,
      clone_url: `${self.gitBaseUrl}/${repo.fullName}.git`,
      default_branch: repo.defaultBranch,
    };
  };

  const pullJson = (p: FakePull) => {
    const repo = state.repos.get(p.repo)!;
    const ex = api.example('pull-request');
    const head = ex.head as Record<string, unknown>;
    const base = ex.base as Record<string, unknown>;
    return {
      ...ex,
      id: p.id,
      number: p.number,
      title: p.title,
      body: p.body,
      state: p.state,
      draft: p.draft,
      merged: p.merged,
      merge_commit_sha: p.mergeSha,
      mergeable: p.state === 'open' ? canMerge(repo, p.base, p.head) : null,
      mergeable_state: p.state !== 'open' ? 'unknown' : canMerge(repo, p.base, p.head) ? 'clean' : 'dirty',
      requested_reviewers: [],
      requested_teams: [],
      merged_at: p.merged ? new Date().toISOString() : null,
      closed_at: p.state === 'closed' ? new Date().toISOString() : null,
      html_url: `${htmlBase}/${p.repo}/pull/${p.number}`,
      url: `${url}/repos/${p.repo}/pulls/${p.number}`,
      head: {
        ...head,
        ref: p.head,
        label: `${repo.owner}:${p.head}`,
        sha: revParse(repo, `refs/heads/${p.head}`) ?? '0'.repeat(40),
        repo: repoJson(repo, head.repo as Record<string, unknown>),
      },
      base: {
        ...base,
        ref: p.base,
        label: `${repo.owner}:${p.base}`,
        sha: revParse(repo, `refs/heads/${p.base}`) ?? '0'.repeat(40),
        repo: repoJson(repo, base.repo as Record<string, unknown>),
      },
    };
  };
  const pullSimpleJson = (p: FakePull) => {
    const full = pullJson(p) as Record<string, unknown>;
    const ex = api.example('pull-request-simple-items') as unknown as Record<string, unknown>[];
    const simple = { ...ex[0]! };
    for (const k of Object.keys(simple)) if (k in full) simple[k] = full[k];
    return simple;
  };
  const issueJson = (i: FakeIssue) => ({
    ...api.example('issue'),
    id: i.id,
    number: i.number,
    title: i.title,
    body: i.body,
    state: i.state,
    labels: i.labels.map((name, n) => ({
      id: n + 1,
      node_id: `L${n}`,
      url: '',
      name,
      description: null,
      color: 'ededed',
      default: false,
    })),
    html_url: `${htmlBase}/${i.repo}/issues/${i.number}`,
    url: `${url}/repos/${i.repo}/issues/${i.number}`,
    pull_request: undefined,
  });
  const checkRunJson = (c: FakeCheckRun) => {
    const ex = api.example('check-run-example-of-completed-conclusion');
    return {
      ...ex,
      id: c.id,
      name: c.name,
      head_sha: c.headSha,
      status: c.status,
      conclusion: c.conclusion,
      output: { ...(ex.output as object), title: c.output?.title ?? null, summary: c.output?.summary ?? null },
      html_url: `${htmlBase}/${c.repo}/runs/${c.id}`,
    };
  };
  const commentJson = (repo: FakeRepo, n: number, c: { id: number; body: string }) => ({
    ...api.example('issue-comment'),
    id: c.id,
    body: c.body,
    html_url: `${htmlBase}/${repo.fullName}/issues/${n}#issuecomment-${c.id}`,
    url: `${url}/repos/${repo.fullName}/issues/comments/${c.id}`,
    issue_url: `${url}/repos/${repo.fullName}/issues/${n}`,
  });
  const findPull = (repo: FakeRepo, n: string) => {
    const p = state.pulls.find((x) => x.repo === repo.fullName && x.number === Number(n));
    if (!p) throw new HttpError(404, 'Not Found');
    return p;
  };

  const handlers: Record<string, Handler> = {
    'apps/create-installation-access-token': ({ params }) => {
      const id = Number(params.installation_id);
      if (![...state.repos.values()].some((r) => r.installationId === id)) throw new HttpError(404, 'Not Found');
      const token = `ghs_${randomBytes(18).toString('hex')}`;
      const expiresAt = Date.now() + 60 * 60 * 1000;
      state.tokens.set(token, { installationId: id, expiresAt });
      return {
        status: 201,
        body: {
          token,
          expires_at: new Date(expiresAt).toISOString(),
          permissions: {
            contents: 'write',
            pull_requests: 'write',
            issues: 'write',
            checks: 'write',
            metadata: 'read',
          },
          repository_selection: 'selected',
        },
      };
    },
    // GitHub's own example predates has_discussions (required by the schema).
    'repos/get': ({ repo }) => ({
      status: 200,
      body: { ...repoJson(repo!, api.example('full-repository')), has_discussions: false },
    }),
    'repos/get-content': ({ repo, params, query }) => {
      const ref = query.get('ref') ?? repo!.defaultBranch;
      let content: Buffer;
      let sha: string;
      try {
        sha = git(repo!, ['rev-parse', `${ref}:${params.path}`]);
        content = execFileSync('git', ['cat-file', 'blob', sha], { cwd: repo!.bareDir });
      } catch {
        throw new HttpError(404, 'Not Found');
      }
      const ex = api.example('content-file-response-if-content-is-a-file');
      return {
        status: 200,
        body: {
          ...ex,
          type: 'file',
          encoding: 'base64',
          size: Buffer.byteLength(content),
          name: params.path!.split('/').pop(),
          path: params.path,
          content: Buffer.from(content).toString('base64'),
          sha,
        },
      };
    },
    'repos/create-or-update-file-contents': ({ repo, params, body }) => {
      // Writes the file with git plumbing on the bare repository, as GitHub would.
      const b = body as { message: string; content: string; sha?: string; branch?: string };
      const branch = b.branch ?? repo!.defaultBranch;
      const parent = revParse(repo!, branch);
      if (!parent) throw new HttpError(404, 'Branch not found');
      let current: string | null = null;
      try {
        current = git(repo!, ['rev-parse', `${branch}:${params.path}`]);
      } catch {}
      if (current && b.sha !== current)
        throw new HttpError(409, `${params.path} does not match ${b.sha ?? 'a missing sha'}`);
      const run = (args: string[], input?: Buffer, env?: NodeJS.ProcessEnv) =>
        execFileSync('git', args, {
          cwd: repo!.bareDir,
          input,
          env: { ...process.env, ...env },
          encoding: 'utf8',
        }).trim();
      const blob = run(['hash-object', '-w', '--stdin'], Buffer.from(b.content, 'base64'));
      const index = { GIT_INDEX_FILE: `${repo!.bareDir}/contents-api.index` };
      run(['read-tree', parent], undefined, index);
      run(['update-index', '--add', '--cacheinfo', `100644,${blob},${params.path}`], undefined, index);
      const tree = run(['write-tree'], undefined, index);
      const who = {
        GIT_AUTHOR_NAME: 'samgita[bot]',
        GIT_AUTHOR_EMAIL: 'bot@example.com',
        GIT_COMMITTER_NAME: 'GitHub',
        GIT_COMMITTER_EMAIL: 'noreply@github.com',
      };
      const commit = run(['commit-tree', tree, '-p', parent, '-m', b.message], undefined, who);
      run(['update-ref', `refs/heads/${branch}`, commit, parent]);
      const ex = api.example('file-commit-example-for-updating-a-file') as {
        content: Record<string, unknown>;
        commit: Record<string, unknown>;
      };
      return {
        status: current ? 200 : 201,
        body: {
          content: { ...ex.content, name: params.path!.split('/').pop(), path: params.path, sha: blob },
          commit: { ...ex.commit, sha: commit },
        },
      };
    },
    'pulls/list': ({ repo, query }) => {
      const stateFilter = query.get('state') ?? 'open';
      const head = query.get('head');
      const list = state.pulls.filter(
        (p) =>
          p.repo === repo!.fullName &&
          (stateFilter === 'all' || p.state === stateFilter) &&
          (!head || `${repo!.owner}:${p.head}` === head || p.head === head),
      );
      return { status: 200, body: list.map(pullSimpleJson) };
    },
    'pulls/create': ({ repo, body }) => {
      const head = String(body.head).replace(/^[^:]+:/, '');
      if (!revParse(repo!, `refs/heads/${head}`)) throw new HttpError(422, `head ${head} does not exist`);
      if (state.pulls.some((p) => p.repo === repo!.fullName && p.head === head && p.state === 'open')) {
        throw new HttpError(422, `A pull request already exists for ${repo!.owner}:${head}.`);
      }
      const p: FakePull = {
        number: nextNumber(repo!.fullName),
        id: state.nextId++,
        title: String(body.title ?? head),
        body: (body.body as string | undefined) ?? null,
        head,
        base: String(body.base),
        draft: body.draft === true,
        state: 'open',
        merged: false,
        mergeSha: null,
        repo: repo!.fullName,
      };
      state.pulls.push(p);
      return { status: 201, body: pullJson(p) };
    },
    'pulls/get': ({ repo, params }) => ({ status: 200, body: pullJson(findPull(repo!, params.pull_number!)) }),
    'pulls/update': ({ repo, params, body }) => {
      const p = findPull(repo!, params.pull_number!);
      if (typeof body.title === 'string') p.title = body.title;
      if (typeof body.body === 'string') p.body = body.body;
      if (body.state === 'open' || body.state === 'closed') p.state = body.state;
      return { status: 200, body: pullJson(p) };
    },
    'pulls/merge': ({ repo, params, body }) => {
      const p = findPull(repo!, params.pull_number!);
      if (p.state !== 'open') throw new HttpError(405, 'Pull Request is not mergeable');
      if (typeof body.sha === 'string' && body.sha !== revParse(repo!, `refs/heads/${p.head}`))
        throw new HttpError(409, 'Head branch was modified. Review and try the merge again.');
      if (!canMerge(repo!, p.base, p.head)) throw new HttpError(405, 'Pull Request is not mergeable');
      const sha = mergeBranches(repo!, p.base, p.head, `Merge pull request #${p.number} from ${p.head}`);
      Object.assign(p, { merged: true, state: 'closed', mergeSha: sha });
      return { status: 200, body: { sha, merged: true, message: 'Pull Request successfully merged' } };
    },
    'pulls/list-comments-for-review': () => ({ status: 200, body: [] }),
    'issues/add-labels': ({ repo, params, body }) => {
      const n = Number(params.issue_number);
      if (
        !state.pulls.some((p) => p.repo === repo!.fullName && p.number === n) &&
        !state.issues.some((i) => i.repo === repo!.fullName && i.number === n)
      ) {
        throw new HttpError(404, 'Not Found');
      }
      const names = ((body.labels as unknown[] | undefined) ?? []).map((l) =>
        typeof l === 'string' ? l : String((l as { name: string }).name),
      );
      const ex = api.example('label-items') as unknown as Record<string, unknown>[];
      return { status: 200, body: names.map((name, i) => ({ ...ex[0]!, id: i + 1, name })) };
    },
    'repos/get-collaborator-permission-level': ({ repo, params }) => {
      const permission = repo!.collaborators.get(params.username!) ?? 'none';
      const ex = api.example('repository-collaborator-permission-response-if-user-has-admin-permissions');
      const user = { ...(ex.user as object), login: params.username, role_name: permission };
      const legacy = permission === 'maintain' ? 'write' : permission === 'triage' ? 'read' : permission;
      return { status: 200, body: { ...ex, permission: legacy, role_name: permission, user } };
    },
    'issues/create': ({ repo, body }) => {
      const i: FakeIssue = {
        number: nextNumber(repo!.fullName),
        id: state.nextId++,
        title: String(body.title),
        body: (body.body as string | undefined) ?? null,
        state: 'open',
        labels: ((body.labels as unknown[] | undefined) ?? []).map(String),
        repo: repo!.fullName,
        comments: [],
      };
      state.issues.push(i);
      return { status: 201, body: issueJson(i) };
    },
    'issues/update': ({ repo, params, body }) => {
      const i = state.issues.find((x) => x.repo === repo!.fullName && x.number === Number(params.issue_number));
      if (!i) throw new HttpError(404, 'Not Found');
      if (typeof body.title === 'string') i.title = body.title;
      if (typeof body.body === 'string') i.body = body.body;
      if (body.state === 'open' || body.state === 'closed') i.state = body.state;
      return { status: 200, body: issueJson(i) };
    },
    'issues/create-comment': ({ repo, params, body }) => {
      const n = Number(params.issue_number);
      const target =
        state.issues.find((x) => x.repo === repo!.fullName && x.number === n) ??
        (() => {
          const p = state.pulls.find((x) => x.repo === repo!.fullName && x.number === n);
          if (!p) return undefined;
          // Pull requests are issues too: keep their comments alongside.
          const i: FakeIssue = {
            number: n,
            id: p.id,
            title: p.title,
            body: p.body,
            state: p.state,
            labels: [],
            repo: repo!.fullName,
            comments: [],
          };
          state.issues.push(i);
          return i;
        })();
      if (!target) throw new HttpError(404, 'Not Found');
      const comment = { id: state.nextId++, body: String(body.body) };
      target.comments.push(comment);
      return {
        status: 201,
        body: {
          ...api.example('issue-comment'),
          id: comment.id,
          body: comment.body,
          html_url: `${htmlBase}/${repo!.fullName}/issues/${n}#issuecomment-${comment.id}`,
        },
      };
    },
    'issues/list-comments': ({ repo, params, query }) => {
      const n = Number(params.issue_number);
      const issue = state.issues.find((x) => x.repo === repo!.fullName && x.number === n);
      if (!issue && !state.pulls.some((p) => p.repo === repo!.fullName && p.number === n))
        throw new HttpError(404, 'Not Found');
      const perPage = Math.min(Number(query.get('per_page') ?? 30), 100);
      const page = Math.max(Number(query.get('page') ?? 1), 1);
      const all = issue?.comments ?? [];
      return {
        status: 200,
        body: all.slice((page - 1) * perPage, page * perPage).map((c) => commentJson(repo!, n, c)),
      };
    },
    'issues/update-comment': ({ repo, params, body }) => {
      const id = Number(params.comment_id);
      for (const i of state.issues) {
        if (i.repo !== repo!.fullName) continue;
        const c = i.comments.find((x) => x.id === id);
        if (!c) continue;
        c.body = String(body.body);
        return { status: 200, body: commentJson(repo!, i.number, c) };
      }
      throw new HttpError(404, 'Not Found');
    },
    'checks/create': ({ repo, body }) => {
      const c: FakeCheckRun = {
        id: state.nextId++,
        repo: repo!.fullName,
        name: String(body.name),
        headSha: String(body.head_sha),
        status: String(body.status ?? 'queued'),
        conclusion: (body.conclusion as string | undefined) ?? null,
        output: (body.output as FakeCheckRun['output']) ?? null,
      };
      if (c.conclusion) c.status = 'completed';
      state.checkRuns.push(c);
      return { status: 201, body: checkRunJson(c) };
    },
    'checks/update': ({ repo, params, body }) => {
      const c = state.checkRuns.find((x) => x.repo === repo!.fullName && x.id === Number(params.check_run_id));
      if (!c) throw new HttpError(404, 'Not Found');
      if (typeof body.status === 'string') c.status = body.status;
      if (typeof body.conclusion === 'string') {
        c.conclusion = body.conclusion;
        c.status = 'completed';
      }
      if (body.output) c.output = body.output as FakeCheckRun['output'];
      return { status: 200, body: checkRunJson(c) };
    },
  };

  const authenticate = (req: IncomingMessage, m: MatchedOperation): FakeRepo | null => {
    const auth = req.headers.authorization ?? '';
    if (m.template.startsWith('/app/')) {
      const jwt = /^(?:bearer) (.+)$/i.exec(auth)?.[1];
      if (!jwt) throw new HttpError(401, 'A JSON web token could not be decoded');
      const [h, p, s] = jwt.split('.');
      const verifier = createVerify('RSA-SHA256');
      verifier.update(`${h}.${p}`);
      if (!s || !verifier.verify(state.publicKeyPem, b64url(s)))
        throw new HttpError(401, 'JWT signature does not match');
      const claims = JSON.parse(b64url(p!).toString('utf8')) as { iss: number | string; exp: number };
      if (String(claims.iss) !== String(state.appId)) throw new HttpError(401, 'JWT iss is not this App');
      if (claims.exp * 1000 < Date.now())
        throw new HttpError(401, "'Expiration time' claim ('exp') is too far in the past");
      return null;
    }
    const token = /^(?:token|bearer) (.+)$/i.exec(auth)?.[1];
    if (!token) throw new HttpError(401, 'Requires authentication');
    const fullName = m.params.owner && m.params.repo ? `${m.params.owner}/${m.params.repo}` : undefined;
    if (!self.tokenValid(token)) throw new HttpError(401, 'Bad credentials');
    if (!fullName) return null;
    const repo = state.repos.get(fullName);
    if (!repo) throw new HttpError(404, 'Not Found');
    if (!self.tokenValid(token, fullName)) throw new HttpError(404, 'Not Found');
    return repo;
  };

  const send = (
    res: ServerResponse,
    m: MatchedOperation | null,
    req: IncomingMessage,
    path: string,
    status: number,
    body: unknown,
    reqBody: unknown,
  ) => {
    if (m && status < 500 && !(m.template.startsWith('/app/') && status === 401)) {
      const problems = status < 400 ? api.validateResponse(m, status, body) : [];
      for (const p of problems) violations.push(`response ${m.operationId} ${status}: ${p}`);
    }
    requests.push({ method: req.method ?? '', path, operationId: m?.operationId ?? null, status, body: reqBody });
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-request-id': randomBytes(4).toString('hex'),
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
    });
    res.end(text);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://localhost');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      const m = githubOpenApi().match(req.method ?? 'GET', u.pathname);
      try {
        if (raw) body = JSON.parse(raw) as Record<string, unknown>;
        if (!m) {
          violations.push(`unknown endpoint ${req.method} ${u.pathname}`);
          throw new HttpError(404, 'Not Found');
        }
        const injected = failures.find((f) => f.count > 0 && f.pattern.test(`${req.method} ${u.pathname}`));
        if (injected) {
          injected.count -= 1;
          const msg =
            injected.status === 403
              ? 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'
              : 'Server Error';
          if (injected.status === 403) res.setHeader('retry-after', '0');
          return send(
            res,
            null,
            req,
            u.pathname,
            injected.status,
            { message: msg, documentation_url: 'https://docs.github.com/rest' },
            body,
          );
        }
        const reqProblems = api.validateRequest(m, body);
        if (reqProblems.length) {
          for (const p of reqProblems) violations.push(`request ${m.operationId}: ${p}`);
          throw new HttpError(422, `Invalid request: ${reqProblems[0]}`);
        }
        const repo = authenticate(req, m);
        const handler = handlers[m.operationId];
        if (!handler) {
          violations.push(`unimplemented operation ${m.operationId} (${req.method} ${u.pathname})`);
          throw new HttpError(404, 'Not Found');
        }
        const out = handler({ params: m.params, query: u.searchParams, body, repo });
        send(res, m, req, u.pathname, out.status, out.body, body);
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        if (!(err instanceof HttpError)) violations.push(`server error: ${String(err)}`);
        send(
          res,
          m,
          req,
          u.pathname,
          status,
          {
            message: err instanceof Error ? err.message : String(err),
            documentation_url: 'https://docs.github.com/rest',
          },
          body,
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return self;
}

function bareGit(repo: FakeRepo) {
  return (args: string[]) =>
    execFileSync('git', args, {
      cwd: repo.bareDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Reviewer',
        GIT_AUTHOR_EMAIL: 'r@example.com',
        GIT_COMMITTER_NAME: 'GitHub',
        GIT_COMMITTER_EMAIL: 'noreply@github.com',
      },
    }).trim();
}

/** The merged tree of `head` into `base`, or null when they conflict (git ≥ 2.38 merge-tree). */
function mergedTree(repo: FakeRepo, baseSha: string, headSha: string): string | null {
  try {
    return bareGit(repo)(['merge-tree', '--write-tree', baseSha, headSha]).split('\n')[0]!;
  } catch {
    return null; // exit status 1: conflicts
  }
}

/** What GitHub reports as `mergeable` for an open pull request: whether its head merges into its base. */
export function canMerge(repo: FakeRepo, base: string, head: string): boolean {
  const run = bareGit(repo);
  return mergedTree(repo, run(['rev-parse', `refs/heads/${base}`]), run(['rev-parse', `refs/heads/${head}`])) !== null;
}

/** A real merge commit of `head` into `base` inside a bare repository; throws when they conflict. */
export function mergeBranches(repo: FakeRepo, base: string, head: string, message: string): string {
  const run = bareGit(repo);
  const baseSha = run(['rev-parse', `refs/heads/${base}`]);
  const headSha = run(['rev-parse', `refs/heads/${head}`]);
  const tree = mergedTree(repo, baseSha, headSha);
  if (tree === null) throw new Error(`${head} conflicts with ${base}`);
  const sha = run(['commit-tree', tree, '-p', baseSha, '-p', headSha, '-m', message]);
  run(['update-ref', `refs/heads/${base}`, sha, baseSha]);
  return sha;
}
