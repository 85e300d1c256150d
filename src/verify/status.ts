/**
 * What a recorded verify says, for every place that shows one: the run
 * summary, the task's result, pull requests, the status page. Work that no
 * command judged is `unverified` — its own outcome, never shown as verified.
 * No Node imports: the status page bundles this module too.
 */

export const VERIFY_STATUSES = ['passed', 'failed', 'unverified'] as const;
export type VerifyStatus = (typeof VERIFY_STATUSES)[number];

/** The summary of a verify that had nothing to run. */
export const UNVERIFIED_SUMMARY = 'no verify command configured or found';

/** What to do about it, where there is room to say so. */
export const UNVERIFIED_HINT = 'set verify: in samgita.yaml, or add a test script the project can run';

/**
 * The status of a recorded verify (a checkpoint's, a result's, a verify
 * step's output); null when there is none. Records written before `status`
 * existed only say `passed`, which is taken at its word.
 */
export function verifyStatusOf(record: unknown): VerifyStatus | null {
  if (!record || typeof record !== 'object') return null;
  const r = record as { status?: unknown; passed?: unknown };
  if ((VERIFY_STATUSES as readonly unknown[]).includes(r.status)) return r.status as VerifyStatus;
  if (typeof r.passed === 'boolean') return r.passed ? 'passed' : 'failed';
  return null;
}

/** The commands a record says judged the work (empty when it does not say). */
export function verifyCommandsOf(record: unknown): string[] {
  if (!record || typeof record !== 'object') return [];
  const c = (record as { commands?: unknown }).commands;
  return Array.isArray(c) ? c.filter((x): x is string => typeof x === 'string') : [];
}

/** Tasks per verify status; `not_run`: no verify recorded (not reached, or finished before verify existed). */
export type VerifyCounts = Record<VerifyStatus | 'not_run', number>;

export function countVerifyStatuses(statuses: ReadonlyArray<VerifyStatus | null>): VerifyCounts {
  const counts: VerifyCounts = { passed: 0, failed: 0, unverified: 0, not_run: 0 };
  for (const s of statuses) counts[s ?? 'not_run'] += 1;
  return counts;
}

/**
 * One line for people: "passed: npm test, npm run lint", "unverified: no verify
 * command configured or found", "failed: <why>". An unverified line never
 * contains the word "passed", so nobody skimming it reads it as verified.
 */
export function describeVerifyRecord(record: unknown): string {
  const status = verifyStatusOf(record);
  if (status === null) return 'not run';
  const summary = String((record as { summary?: unknown }).summary ?? '').trim();
  if (status === 'unverified') return `unverified: ${UNVERIFIED_SUMMARY}`;
  if (status === 'passed') {
    const commands = verifyCommandsOf(record);
    return commands.length ? `passed: ${commands.join(', ')}` : `passed: ${summary || 'all verify commands passed'}`;
  }
  return `failed: ${summary || 'a verify command failed'}`;
}
