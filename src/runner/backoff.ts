/**
 * Exponential backoff with full jitter: spreads retries of many agents that
 * failed together (an overloaded API) instead of having them return in step.
 */
export function backoffMs(
  attempt: number,
  baseMs = 5_000,
  maxMs = 10 * 60_000,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
