import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { normalizeGitUrl, originFromConfig, originOf, redactUrl, repoDirName } from '../repo-locate.js';
import { routeSchema } from '../route-schema.js';

/** The status page's new-project form: is there a clone of this repository here, and where else to look. */

const tags = ['ui'];

const RepoSuggestQuery = z.object({
  git_url: z.string().max(2000).optional(),
  name: z.string().max(200).optional(),
});
const RepoSuggestions = z.object({
  detected: z.string().nullable().meta({ description: 'a local clone of git_url, when one exists' }),
  clone_to: z.string().meta({ description: 'where the server would clone it otherwise' }),
  suggestions: z.array(z.object({ path: z.string(), origin: z.string().nullable() })),
});

/** Directories examined per search root (stat/readdir), at most. */
const MAX_DIRS_EXAMINED = 200;
/** Repositories listed per search root, at most. */
const MAX_REPOS = 50;
/** git processes run at once by this route, when a config file cannot answer alone. */
const GIT_CONCURRENCY = 4;
const CACHE_TTL_MS = 30_000;

type Suggestion = { path: string; origin: string | null };

/** Runs at most `n` of the given tasks at once. */
function limiter(n: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
const gitSlot = limiter(GIT_CONCURRENCY);

async function gitDirsUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  let examined = 0;
  const queue: Array<{ dir: string; depth: number }> = [{ dir: root, depth: 0 }];
  while (queue.length && out.length < MAX_REPOS && examined < MAX_DIRS_EXAMINED) {
    const { dir, depth } = queue.shift()!;
    examined++;
    try {
      if ((await stat(path.join(dir, '.git'))).isDirectory()) {
        out.push(dir);
        continue;
      }
    } catch {
      // not a repository
    }
    if (depth >= 2) continue;
    try {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules' && !e.name.includes('.tmp-')) {
          queue.push({ dir: path.join(dir, e.name), depth: depth + 1 });
        }
      }
    } catch {
      // unreadable
    }
  }
  return out;
}

/** Per search root: the repositories under it, cached by the root's mtime for CACHE_TTL_MS. */
const cache = new Map<string, { mtimeMs: number; at: number; value: Promise<Suggestion[]> }>();

async function reposUnder(root: string): Promise<Suggestion[]> {
  let mtimeMs: number;
  try {
    mtimeMs = (await stat(root)).mtimeMs;
  } catch {
    return [];
  }
  const hit = cache.get(root);
  if (hit && hit.mtimeMs === mtimeMs && Date.now() - hit.at < CACHE_TTL_MS) return hit.value;
  const value = (async () => {
    const dirs = await gitDirsUnder(root);
    return Promise.all(
      dirs.map(async (p) => {
        const fromFile = await originFromConfig(p);
        const origin = fromFile === undefined ? await gitSlot(() => originOf(p, 2000)) : fromFile;
        return { path: p, origin: origin === null ? null : redactUrl(origin) };
      }),
    );
  })();
  cache.set(root, { mtimeMs, at: Date.now(), value });
  value.catch(() => cache.delete(root));
  if (cache.size > 64) cache.delete(cache.keys().next().value!);
  return value;
}

export async function uiRepoRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get<{ Querystring: z.infer<typeof RepoSuggestQuery> }>(
    '/api/ui/repos/suggest',
    {
      schema: routeSchema({
        tags,
        summary: 'Local clone detection and path suggestions for creating a project (FR-6.2)',
        query: RepoSuggestQuery,
        response: { 200: RepoSuggestions },
      }),
    },
    async (req) => {
      const { git_url: gitUrl, name } = req.query;
      const suggestions = (await Promise.all(ctx.repoSearchRoots.map((r) => reposUnder(r)))).flat();
      let detected: string | null = null;
      if (gitUrl) {
        try {
          const want = normalizeGitUrl(gitUrl);
          detected = suggestions.find((s) => s.origin !== null && normalizeGitUrl(s.origin) === want)?.path ?? null;
        } catch {
          detected = null;
        }
      }
      const guess = name || (gitUrl ? (gitUrl.split(/[/:]/).pop() ?? '').replace(/\.git$/, '') : '');
      return {
        detected,
        clone_to: path.join(ctx.env.samgitaHome, 'repos', repoDirName(guess)),
        suggestions,
      };
    },
  );
}
