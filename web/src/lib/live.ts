import { streamSse } from './sse.js';
import type { EventRow } from './types.js';

/**
 * The one live connection of the page: /api/events/stream. Views subscribe to
 * the events they care about and refetch the affected resource by id.
 */
type Listener = (e: EventRow) => void;
type StateListener = (s: LiveState) => void;
export type LiveState = 'open' | 'connecting' | 'closed';

const listeners = new Set<Listener>();
const stateListeners = new Set<StateListener>();
let state: LiveState = 'closed';
let controller: AbortController | null = null;

export function startLive(onUnauthorized: () => void): void {
  if (controller) return;
  controller = new AbortController();
  streamSse('/api/events/stream', {
    signal: controller.signal,
    onUnauthorized,
    onState: (s) => {
      state = s;
      for (const fn of stateListeners) fn(s);
    },
    onMessage: (m) => {
      let e: EventRow;
      try {
        e = JSON.parse(m.data) as EventRow;
      } catch {
        return;
      }
      for (const fn of listeners) fn(e);
    },
  });
}

export function stopLive(): void {
  controller?.abort();
  controller = null;
}

export function subscribe(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function onLiveState(fn: StateListener): () => void {
  stateListeners.add(fn);
  fn(state);
  return () => stateListeners.delete(fn);
}

/**
 * Per-key refetch coalescing: the first change fetches at once (lowest
 * latency); changes arriving while that fetch is in flight are folded into
 * one more fetch after it.
 */
export function coalescer<K>(fetchOne: (key: K) => Promise<void>): (key: K) => void {
  const inFlight = new Set<K>();
  const dirty = new Set<K>();
  const run = (key: K): void => {
    inFlight.add(key);
    fetchOne(key)
      .catch(() => {})
      .finally(() => {
        inFlight.delete(key);
        if (dirty.delete(key)) run(key);
      });
  };
  return (key: K) => {
    if (inFlight.has(key)) dirty.add(key);
    else run(key);
  };
}
