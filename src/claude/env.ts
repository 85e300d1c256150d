/**
 * The environment a Claude Code child gets: a small allow-list taken from our
 * own environment, then the caller's overrides. Keeps unrelated secrets (database
 * URLs, GitHub keys) away from the agent and its tools.
 */
const PASS_THROUGH = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TERM',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'XDG_CONFIG_HOME',
  'XDG_CACHE_HOME',
  'XDG_DATA_HOME',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'ANTHROPIC_BASE_URL',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'CLAUDE_CONFIG_DIR',
];

/** Names whose values must never be logged. */
export const SECRET_ENV = /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|PRIVATE/i;

/**
 * `overrides` win; an override of `undefined` removes the variable.
 */
export function buildClaudeEnv(
  overrides: Record<string, string | undefined> = {},
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && (PASS_THROUGH.includes(k) || k.startsWith('LC_'))) env[k] = v;
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Env var names with secret values masked, for logs. */
export function describeEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) out[k] = SECRET_ENV.test(k) ? '[redacted]' : v;
  return out;
}
