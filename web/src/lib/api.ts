/** Thin fetch wrapper: same-origin session cookie, the page's CSRF header, one error shape. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

type AuthListener = () => void;
const signedOutListeners = new Set<AuthListener>();
export function onSignedOut(fn: AuthListener): () => void {
  signedOutListeners.add(fn);
  return () => signedOutListeners.delete(fn);
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}) {
  const headers: Record<string, string> = { accept: 'application/json', 'x-samgita-ui': '1' };
  let body: BodyInit | undefined;
  if (init.body instanceof FormData) body = init.body;
  else if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; field?: string; hint?: string } } | null)?.error;
    if (res.status === 401 && !path.startsWith('/api/session')) for (const fn of signedOutListeners) fn();
    throw new ApiError(res.status, e?.code ?? 'HTTP_' + res.status, e?.message ?? res.statusText, e?.field, e?.hint);
  }
  return json as T;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Every page of a paginated list (bounded). */
export async function all<T>(path: string, maxPages = 20): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page: Page<T> = await api<Page<T>>(
      `${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    out.push(...page.data);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}
