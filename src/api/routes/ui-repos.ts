import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { findLocalClone, normalizeGitUrl, originOf, repoDirName } from '../repo-locate.js';
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

async function gitDirsUnder(roots: readonly string[], max: number): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) {
    const queue: Array<{ dir: string; depth: number }> = [{ dir: root, depth: 0 }];
    while (queue.length && out.length < max) {
      const { dir, depth } = queue.shift()!;
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
          if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') {
            queue.push({ dir: path.join(dir, e.name), depth: depth + 1 });
          }
        }
      } catch {
        // unreadable
      }
    }
  }
  return out;
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
      let detected: string | null = null;
      if (gitUrl) {
        try {
          normalizeGitUrl(gitUrl);
          detected = await findLocalClone(gitUrl, ctx.repoSearchRoots);
        } catch {
          detected = null;
        }
      }
      const dirs = await gitDirsUnder(ctx.repoSearchRoots, 50);
      const suggestions = await Promise.all(dirs.map(async (p) => ({ path: p, origin: await originOf(p, 2000) })));
      const guess = name || (gitUrl ? (gitUrl.split(/[/:]/).pop() ?? '').replace(/\.git$/, '') : '');
      return {
        detected,
        clone_to: path.join(ctx.env.samgitaHome, 'repos', repoDirName(guess)),
        suggestions,
      };
    },
  );
}
