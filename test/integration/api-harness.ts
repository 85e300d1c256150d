import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApiKey } from '../../src/auth/keys.js';
import { loadEnvConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/log/logger.js';
import { type BuildServerOptions, buildServer } from '../../src/server/build.js';
import { startServerWork } from '../../src/server/work.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

export interface Harness {
  db: TestDatabase;
  app: FastifyInstance;
  home: string;
  write: string;
  read: string;
  writeId: string;
  /** inject with the write key unless headers say otherwise. */
  req(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<Response_>;
  close(): Promise<void>;
}

export interface Response_ {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies loosely
  body: any;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
}

export async function startHarness(
  options: Partial<BuildServerOptions> = {},
  withKeys = true,
  extras: { work?: boolean } = {},
): Promise<Harness> {
  const db = await createTestDatabase();
  const home = await mkdtemp(path.join(os.tmpdir(), 'samgita-api-'));
  const env = loadEnvConfig({ SAMGITA_HOME: home, LOG_LEVEL: 'silent' });
  const app = await buildServer({
    pool: db.pool,
    env,
    logger: createLogger({ level: 'silent' }),
    ...options,
  });
  await app.ready();
  // The worker `samgita serve` runs beside the API: re-plans and clones it accepted.
  const work = extras.work
    ? await startServerWork({
        pool: db.pool,
        log: createLogger({ level: 'silent' }),
        webhooks: false,
        pollIntervalMs: 100,
      })
    : null;
  let write = '';
  let read = '';
  let writeId = '';
  if (withKeys) {
    const w = await createApiKey(db.pool, { name: 'test-write', scope: 'write' });
    const r = await createApiKey(db.pool, { name: 'test-read', scope: 'read' });
    write = w.key;
    writeId = w.id;
    read = r.key;
  }
  const h: Harness = {
    db,
    app,
    home,
    write,
    read,
    writeId,
    async req(method, url, body, headers) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${h.write}`, ...(headers ?? {}) },
        ...(body !== undefined ? { payload: body as string } : {}),
      });
      let parsed: unknown = null;
      try {
        parsed = res.body ? JSON.parse(res.body) : null;
      } catch {
        parsed = null;
      }
      return { status: res.statusCode, body: parsed, headers: res.headers, text: res.body };
    },
    async close() {
      await work?.stop();
      await app.close();
      await db.drop();
      await rm(home, { recursive: true, force: true });
    },
  };
  return h;
}

/** Inserts a project row directly (no git needed). */
export async function seedProject(h: Harness, name = 'p', status = 'pending'): Promise<string> {
  const { rows } = await h.db.pool.query<{ id: string }>(
    `insert into projects (name, git_url, status) values ($1, $2, $3) returning id`,
    [name, `https://example.com/${name}-${Math.random().toString(36).slice(2)}.git`, status],
  );
  return rows[0]!.id;
}

export async function seedTask(
  h: Harness,
  projectId: string,
  fields: { key?: string; status?: string; priority?: number; phase?: string; agent_type?: string } = {},
): Promise<string> {
  const { rows } = await h.db.pool.query<{ id: string }>(
    `insert into tasks (project_id, key, title, phase, agent_type, priority, status)
     values ($1, $2, $3, $4, $5, $6, $7) returning id`,
    [
      projectId,
      fields.key ?? `k-${Math.random().toString(36).slice(2)}`,
      'a task',
      fields.phase ?? 'development',
      fields.agent_type ?? 'eng-backend',
      fields.priority ?? 100,
      fields.status ?? 'pending',
    ],
  );
  return rows[0]!.id;
}

/** The project once the server's worker has finished with its clone (working_path set, or clone.state failed). */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies loosely
export async function settledClone(h: Harness, id: string, timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const detail = (await h.req('GET', `/api/projects/${id}`)).body;
    if (detail.clone === null || detail.clone?.state === 'failed') return detail;
    if (Date.now() > deadline) throw new Error(`the clone of project ${id} did not settle in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
