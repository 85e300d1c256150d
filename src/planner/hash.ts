import { createHash } from 'node:crypto';
import type { Requirement } from '../prd/types.js';

/**
 * One hash for every requirement a task covers, so that editing any of them
 * re-plans the task (a QA task covering a whole area re-runs when one of its
 * requirements changes). A single requirement keeps its own hash, so a task's
 * hash reads the same as its requirement's in the database. Null when none.
 */
export function combinedHash(reqs: readonly Pick<Requirement, 'key' | 'contentHash'>[]): string | null {
  if (reqs.length === 0) return null;
  if (reqs.length === 1) return reqs[0]?.contentHash ?? null;
  const h = createHash('sha256');
  for (const r of [...reqs].sort((a, b) => a.key.localeCompare(b.key))) h.update(`${r.key}\0${r.contentHash}\n`);
  return h.digest('hex');
}
