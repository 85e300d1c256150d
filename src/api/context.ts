import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { EnvConfig } from '../config/env.js';
import type { Logger } from '../log/logger.js';
import type { Actor, NotifyHub } from '../store/events.js';

/** What every route module gets from buildServer. */
export interface ApiContext {
  pool: pg.Pool;
  env: EnvConfig;
  hub: NotifyHub;
  log: Logger;
  sse: { heartbeatMs: number; open: Set<ServerResponse> };
  prdMaxBytes: number;
  repoSearchRoots: readonly string[];
  cloneTimeoutMs: number;
  /** Commits PRD.md of a GitHub-driven project to its default branch (set when the GitHub App runs). */
  commitPrd: ((projectId: string, content: string, author: string) => Promise<{ commitSha: string }>) | undefined;
}

/** The audit actor of a request: the API key that made it. */
export function actorOf(req: FastifyRequest): Actor {
  return req.apiKey ? { type: 'api_key', id: req.apiKey.id } : { type: 'system' };
}
