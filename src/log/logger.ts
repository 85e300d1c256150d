import { type Logger, type LoggerOptions, pino } from 'pino';

/**
 * Paths redacted from every log line. Secrets reach us in env vars, headers and
 * configuration objects; listing their usual names here keeps them out of logs
 * even when a whole object is logged by mistake.
 */
export const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  'apiKey',
  'api_key',
  'privateKey',
  'private_key',
  'authorization',
  'databaseUrl',
  '*.password',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.privateKey',
  '*.private_key',
  '*.authorization',
  '*.databaseUrl',
  'headers.authorization',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'env.ANTHROPIC_API_KEY',
  'env.CLAUDE_CODE_OAUTH_TOKEN',
  'env.DATABASE_URL',
  'env.PRIVATE_KEY',
  'env.WEBHOOK_SECRET',
];

/** Strips the password from a connection string so it can be shown. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

export type { Logger };

export function createLogger(
  options: { level?: string; name?: string; destination?: pino.DestinationStream } = {},
): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid, ...(options.name ? { name: options.name } : {}) },
  };
  if (options.destination) return pino(opts, options.destination);
  return pino(opts, pino.destination({ fd: 2, sync: false }));
}

let rootLogger: Logger | undefined;

/** The process-wide logger; logs go to stderr so stdout stays for command output. */
export function logger(): Logger {
  rootLogger ??= createLogger();
  return rootLogger;
}

export function setLogger(l: Logger): void {
  rootLogger = l;
}
