/**
 * The shape rules of the code base, checked: a change that bypasses the one
 * owner of a record or the queue adapter fails here, not in review.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel));
    else if (/\.tsx?$/.test(e.name)) out.push(rel);
  }
  return out;
}

const SRC = sources('src');
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');
const containing = (re: RegExp) => SRC.filter((f) => re.test(read(f)));

describe('architecture', () => {
  it('only the queue adapter speaks graphile-worker’s SQL', () => {
    expect(containing(/graphile_worker\./)).toEqual(['src/queue/jobs.ts']);
  });

  // One store module per record family: 20 since the checkpoint (store/checkpoint.ts) and memories (store/memories.ts).
  it('SQL lives in the store layer (and the queue adapter): no more than 20 modules', () => {
    const withSql = containing(/\.query\(|\.query<|\bsql`/);
    for (const f of withSql) expect(f, f).toMatch(/^src\/store\/|^src\/queue\/jobs\.ts$/);
    expect(withSql.length).toBeLessThanOrEqual(20);
  });

  it('a project’s status is written in one place, called from one place', () => {
    expect(containing(/update projects set[^`]*\bstatus\s*=/s)).toEqual(['src/store/projects.ts']);
    const callers = SRC.filter((f) => f !== 'src/store/projects.ts' && /\bwriteProjectStatus\b/.test(read(f)));
    expect(callers).toEqual(['src/projects/transition.ts']);
  });

  it('no module over 500 lines, except declarative data and the samgita.yaml error mapper', () => {
    const exempt = new Set([
      'src/agents/catalog.ts',
      'src/config/samgita-yaml/schema.ts',
      'src/config/samgita-yaml/parse.ts',
    ]);
    const long = SRC.filter((f) => !exempt.has(f))
      .map((f) => [f, read(f).split('\n').length] as const)
      .filter(([, n]) => n > 500);
    expect(long).toEqual([]);
  });

  it('the page takes the server’s vocabulary instead of copying it', () => {
    const page = sources('web/src').map(read).join('\n');
    expect(page).not.toMatch(/'bootstrap',\s*'discovery'/);
    expect(page).not.toMatch(/'dead_letter',\s*'cancelled'\s*\]/);
    expect(page).toMatch(/src\/domain\/states\.js/);
  });
});
