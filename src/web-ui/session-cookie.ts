/**
 * The status page's session cookie: an httpOnly, SameSite=Strict cookie holding
 * only a session id (src/auth/sessions.ts), never the API key it was made from.
 */
export const SESSION_COOKIE = 'samgita_session';

/** The session cookie's value from a Cookie header, if any. */
export function sessionFromCookie(header: string | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return value || null;
    }
  }
  return null;
}

/** The Set-Cookie value; `Secure` comes from configuration (SAMGITA_COOKIE_SECURE), never from the request. */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  const maxAge = Math.max(0, Math.floor(maxAgeSeconds));
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

/**
 * What the cookie authenticates: the routes the page calls (web/src: `api(`,
 * `all(`, `streamSse(`), by method and route pattern. Everything else — /metrics,
 * webhooks, runners, events, artifacts, project updates and deletes — needs an
 * API key. Writes made with the cookie must also carry `x-samgita-ui: 1`.
 */
export const SESSION_ROUTES: ReadonlySet<string> = new Set([
  // The page's own session.
  'GET /api/session',
  // Live updates and logs.
  'GET /api/events/stream',
  'GET /api/agents/:id/logs',
  // Views.
  'GET /api/ui/projects',
  'GET /api/ui/agents',
  'GET /api/ui/costs',
  'GET /api/ui/requirements/:id',
  'GET /api/ui/repos/suggest',
  // The project list (the page reads /api/ui/projects; this is the same data).
  'GET /api/projects',
  'GET /api/projects/:id',
  'GET /api/projects/:id/tasks',
  'GET /api/projects/:id/tasks/:tid',
  // The page's writes: new project, controls, retry, PRD preview and save.
  'POST /api/projects',
  'POST /api/projects/:id/start',
  'POST /api/projects/:id/pause',
  'POST /api/projects/:id/resume',
  'POST /api/projects/:id/cancel',
  'POST /api/projects/:id/archive',
  'POST /api/projects/:id/tasks/:tid/retry',
  'POST /api/ui/projects/:id/prd/preview',
  'PUT /api/ui/projects/:id/prd',
]);

/** Whether the session cookie may authenticate this request (HEAD counts as GET). */
export function sessionMayReach(method: string, routeUrl: string | undefined): boolean {
  if (!routeUrl) return false;
  return SESSION_ROUTES.has(`${method === 'HEAD' ? 'GET' : method} ${routeUrl}`);
}
