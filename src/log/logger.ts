import { type Logger, type LoggerOptions, pino } from 'pino';
import pretty from 'pino-pretty';

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
  options: {
    level?: string;
    name?: string;
    destination?: pino.DestinationStream;
    /** One human-readable, coloured line per entry on stderr (pino-pretty), for a terminal. */
    pretty?: boolean;
  } = {},
): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid, ...(options.name ? { name: options.name } : {}) },
  };
  if (options.destination) return pino(opts, options.destination);
  if (options.pretty)
    return pino(
      opts,
      pretty({ destination: 2, sync: true, colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname' }),
    );
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

/** Writes out whatever the logger still buffers (before an explicit process.exit). */
export async function flushLogs(): Promise<void> {
  const l = rootLogger;
  if (!l) return;
  await new Promise<void>((resolve) => {
    try {
      l.flush(() => resolve());
    } catch {
      resolve();
    }
    // A destination that never calls back must not hold the exit.
    setTimeout(resolve, 1_000).unref();
  });
}
