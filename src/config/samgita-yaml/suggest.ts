import { distance } from 'fastest-levenshtein';

/**
 * The candidate closest to `input` by edit distance, if it is close enough to be
 * a plausible typo (at most 3 edits, and at most a third of the longer string),
 * or if one is a prefix of the other (e.g. 'phase' / 'phases').
 */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const lower = input.toLowerCase();
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.min(3, Math.max(1, Math.floor(Math.max(input.length, best.length) / 3)));
  return bestDistance <= limit ? best : undefined;
}
