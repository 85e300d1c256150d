/**
 * The environment of a verify command, by allow-list: PATH, HOME (the
 * sandbox's own, empty), CI=true, the locale, and the variables samgita.yaml
 * names under `verify.env` — nothing else of the runner's (no DATABASE_URL,
 * no webhook secret, no tokens unless the project asks for one by name).
 */
import { SANDBOX_HOME } from './bwrap.js';

const LOCALE = /^(LANG|LANGUAGE|LC_[A-Z_]+|TZ)$/;

export function verifyEnv(
  allowed: readonly string[],
  opts: { sandboxed: boolean },
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: base.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: opts.sandboxed ? SANDBOX_HOME : (base.HOME ?? '/tmp'),
    CI: 'true',
  };
  for (const [k, v] of Object.entries(base)) if (v !== undefined && LOCALE.test(k)) env[k] = v;
  for (const name of allowed) {
    const v = base[name];
    if (v !== undefined) env[name] = v;
  }
  return env;
}
