/**
 * Durations in samgita.yaml: a string of hours/minutes/seconds parts in that
 * order ('90s', '30m', '1h', '1h30m', '2h15m30s') or a whole number of seconds.
 * Parsed values are milliseconds.
 */

/** The accepted string form, as a JSON Schema / ECMAScript pattern. */
export const DURATION_PATTERN_SOURCE = '^(?=\\d)(?:\\d+h)?(?:\\d+m)?(?:\\d+s)?$';
const DURATION_RE = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

export const DURATION_HINT =
  "write a duration as a number with a unit, such as '90s', '30m', '1h' or '1h30m', or as a whole number of seconds such as 600";

/** Milliseconds for a duration, or null when the input is not a valid, positive duration. */
export function parseDuration(input: unknown): number | null {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input <= 0) return null;
    return input * 1000;
  }
  if (typeof input !== 'string' || input === '') return null;
  const m = DURATION_RE.exec(input);
  if (!m) return null;
  const [, h, min, s] = m;
  const ms = (Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(s ?? 0)) * 1000;
  if (!Number.isSafeInteger(ms) || ms <= 0) return null;
  return ms;
}

/** The shortest 'XhYmZs' string for a number of milliseconds (rounded down to seconds). */
export function formatDuration(ms: number): string {
  let rest = Math.floor(ms / 1000);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  const out = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
  return out === '' ? '0s' : out;
}
