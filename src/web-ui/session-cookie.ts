/** The status page's session: an httpOnly cookie holding the API key it was made from. */
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
