/**
 * The secrets Samgita knows, and the one redaction step everything recorded
 * from a run passes through (verify output, agent log lines): every value of
 * every secret is replaced by `[redacted:<NAME>]`. Values come from this
 * process's environment (API keys, tokens, the webhook secret, the App's
 * private key, the database URL's password) plus any the caller adds (an
 * installation token minted at run time).
 */
import { SECRET_ENV } from '../claude/env.js';

/** Shorter values are too likely to be ordinary text ("1234"): never treated as secrets. */
const MIN_SECRET = 8;

export interface Secret {
  name: string;
  value: string;
}

/** The secret values in `env`: by name (KEY, TOKEN, SECRET, PASSWORD…), and the password inside URLs. */
export function knownSecrets(env: NodeJS.ProcessEnv = process.env, extra: Secret[] = []): Secret[] {
  const found: Secret[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_ENV.test(name) && value.length >= MIN_SECRET) found.push({ name, value });
    const password = urlPassword(value);
    if (password) found.push({ name: `${name} password`, value: password });
  }
  // A PEM key is also recognisable by its body lines, in case it is printed reflowed.
  for (const s of [...found]) {
    if (!s.value.includes('-----BEGIN')) continue;
    for (const line of s.value.replace(/\\n/g, '\n').split('\n'))
      if (line.length >= 40 && !line.startsWith('-----')) found.push({ name: s.name, value: line.trim() });
  }
  for (const s of extra) if (s.value.length >= MIN_SECRET) found.push(s);
  // Longest first, so a secret that contains another is replaced whole.
  return found.sort((a, b) => b.value.length - a.value.length);
}

function urlPassword(value: string): string | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/\s]*@/i.test(value)) return null;
  try {
    const password = decodeURIComponent(new URL(value).password);
    return password.length >= 4 ? password : null;
  } catch {
    return null;
  }
}

/** `text` with every known secret value replaced. Pure. */
export function redact(text: string, secrets: readonly Secret[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s.value)) out = out.split(s.value).join(`[redacted:${s.name}]`);
  return out;
}
