import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { coalescer, subscribe } from './live.js';
import type { EventRow } from './types.js';

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => Promise<void>;
  set: (fn: (prev: T | undefined) => T | undefined) => void;
}

/** Fetches `load()` when `key` changes; keeps the previous data while reloading (no layout jumps). */
export function useResource<T>(key: string | null, load: () => Promise<T>): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const seq = useRef(0);
  const reload = useCallback(async () => {
    const n = ++seq.current;
    setLoading(true);
    try {
      const v = await loadRef.current();
      if (n === seq.current) {
        setData(v);
        setError(undefined);
      }
    } catch (err) {
      if (n === seq.current) setError(err as Error);
    } finally {
      if (n === seq.current) setLoading(false);
    }
  }, []);
  useEffect(() => {
    if (key === null) return;
    void reload();
  }, [key, reload]);
  return { data, error, loading, reload, set: setData };
}

export function useApi<T>(path: string | null): Resource<T> {
  return useResource<T>(path, () => api<T>(path as string));
}

/** Runs `handler` for every live event while mounted. */
export function useLive(handler: (e: EventRow) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => subscribe((e) => ref.current(e)), []);
}

/** A stable coalescing refetcher (see coalescer). */
export function useCoalescer<K>(fetchOne: (key: K) => Promise<void>): (key: K) => void {
  const ref = useRef(fetchOne);
  ref.current = fetchOne;
  const [fn] = useState(() => coalescer<K>((k) => ref.current(k)));
  return fn;
}

/** Re-renders every `ms` while `active`. */
export function useTick(ms: number, active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms, active]);
  return now;
}
