import { distance } from 'fastest-levenshtein';

/**
 * The candidate closest to `input` by edit distance, if it is close enough to be
 * a plausible typo: 1 edit for names of up to 3 characters, otherwise 2 edits
 * or a third of the longer name, whichever is more, but never more than 3.
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
  const longest = Math.max(input.length, best.length);
  const limit = longest <= 3 ? 1 : Math.min(3, Math.max(2, Math.floor(longest / 3)));
  return bestDistance <= limit ? best : undefined;
}
