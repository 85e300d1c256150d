/**
 * Where a command's logs go. A person at a terminal reads the command's own
 * output, so machine log lines never land between it: interactive runs write
 * them to a file under SAMGITA_HOME (the command says where), long-running
 * services (serve, runner) print them human-readable. Pipes, CI and `--json`
 * get JSON lines on stderr, for machines.
 */
import path from 'node:path';
import pino from 'pino';
import { createLogger, type Logger, setLogger } from './logger.js';

export interface LogSetup {
  logger: Logger;
  /** The file logs go to, when they go to one. */
  file: string | null;
}

export function configureLogging(opts: {
  samgitaHome: string;
  level: string;
  /** `file` for commands with a live terminal view, `pretty` for services whose logs are their output. */
  onTerminal: 'file' | 'pretty';
  json?: boolean;
  name?: string;
  /** Whether stderr is a terminal (default: process.stderr.isTTY). */
  tty?: boolean;
}): LogSetup {
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  const base = { level: opts.level, ...(opts.name ? { name: opts.name } : {}) };
  let result: LogSetup;
  if (!tty || opts.json) {
    result = { logger: createLogger(base), file: null };
  } else if (opts.onTerminal === 'file') {
    const file = path.join(opts.samgitaHome, 'logs', 'samgita.log');
    result = {
      logger: createLogger({ ...base, destination: pino.destination({ dest: file, mkdir: true, sync: false }) }),
      file,
    };
  } else {
    result = { logger: createLogger({ ...base, pretty: true }), file: null };
  }
  setLogger(result.logger);
  return result;
}
