/**
 * Does heavy work stall the server? A real `samgita serve` process answers
 * GET /health every 10 ms while a read key asks for the plan preview of a
 * maximal PRD (1 MiB of `- FR-n:` lines, far past the requirement bound) and
 * of a large but plannable one (1,900 requirements), back to back. Prints
 * /health p50/p99/max during the previews, and the previews' answers and times.
 * Goal: /health p99 ≤ 50 ms.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/api-stall.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApiKey } from '../src/auth/keys.js';
import { spawnServe } from '../test/support/serve.js';
import { fmt, freshDatabase, pct } from './support.js';

function prd(n: number, maxBytes = Number.POSITIVE_INFINITY): string {
  let s = '# Stall\n\n## Functional Requirements\n\n';
  for (let i = 1; i <= n; i++) {
    const line = `- FR-${i}: The system shall handle case ${i} of the workflow correctly\n`;
    if (Buffer.byteLength(s) + Buffer.byteLength(line) > maxBytes) break;
    s += line;
  }
  return s;
}

async function main(): Promise<void> {
  const db = await freshDatabase(4);
  const home = await mkdtemp(path.join(os.tmpdir(), 'samgita-bench-stall-'));
  const key = (await createApiKey(db.pool, { name: 'bench', scope: 'read' })).key;
  const { rows } = await db.pool.query<{ id: string }>(
    `insert into projects (name, git_url, status, source) values ('stall', 'https://example.com/stall.git', 'pending', 'api') returning id`,
  );
  const id = rows[0]!.id;
  const serve = await spawnServe({ DATABASE_URL: db.url, SAMGITA_HOME: home }, ['--no-webhooks']);
  try {
    const previews = [
      { name: 'maximal PRD (1 MiB, ~17,000 requirements)', text: prd(100_000, 1024 * 1024 - 2048) },
      { name: 'large plannable PRD (1,900 requirements)', text: prd(1900) },
    ];
    for (const p of previews) {
      const health: number[] = [];
      let done = false;
      const probe = (async () => {
        while (!done) {
          const t = performance.now();
          await fetch(`${serve.url}/health`).then((r) => r.arrayBuffer());
          health.push(performance.now() - t);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const t = performance.now();
      const res = await fetch(`${serve.url}/api/ui/projects/${id}/prd/preview`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: p.text }),
      });
      const body = (await res.json()) as { error?: { code: string }; summary?: { total: number } };
      const took = performance.now() - t;
      done = true;
      await probe;
      console.log(`\n${p.name}: ${Buffer.byteLength(p.text)} bytes`);
      console.log(
        `  preview: ${res.status} ${body.error ? body.error.code : `${body.summary?.total} tasks`} in ${fmt(took)}`,
      );
      console.log(
        `  /health during it (${health.length} requests): p50 ${fmt(pct(health, 50))}  p99 ${fmt(pct(health, 99))}  max ${fmt(Math.max(...health))}  ${pct(health, 99) <= 50 ? 'PASS' : 'FAIL'} (goal p99 ≤ 50 ms)`,
      );
    }
  } finally {
    await serve.kill();
    await db.drop();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
