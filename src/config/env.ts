import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { SamgitaError } from '../errors.js';

/** Process configuration, read once from the environment at start-up. */
export interface EnvConfig {
  /** null → Samgita starts an embedded PostgreSQL under `samgitaHome`. */
  databaseUrl: string | null;
  samgitaHome: string;
  claudeBin: string;
  port: number;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  publicUrl: string | null;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface VarSpec {
  schema: z.ZodType;
  hint: string;
}

const SPECS: Record<string, VarSpec> = {
  DATABASE_URL: {
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
      .refine((v) => URL.canParse(v), 'is not a valid URL'),
    hint: 'set it like postgres://user:password@host:5432/dbname, or unset it to use the embedded PostgreSQL',
  },
  SAMGITA_HOME: {
    schema: z.string().min(1),
    hint: 'set it to a writable directory, e.g. SAMGITA_HOME=$HOME/.samgita',
  },
  SAMGITA_CLAUDE_BIN: {
    schema: z.string().min(1),
    hint: 'set it to the path of the Claude Code CLI, or unset it to use `claude` from PATH',
  },
  PORT: {
    schema: z.coerce.number().int().min(0).max(65535),
    hint: 'set it to a TCP port number between 0 and 65535, e.g. PORT=4000',
  },
  HOST: {
    schema: z.string().min(1),
    hint: 'set it to an interface address, e.g. HOST=127.0.0.1 or HOST=0.0.0.0',
  },
  LOG_LEVEL: {
    schema: z.enum(LOG_LEVELS),
    hint: `set it to one of ${LOG_LEVELS.join(', ')}`,
  },
  SAMGITA_PUBLIC_URL: {
    schema: z.string().refine((v) => URL.canParse(v), 'is not a valid URL'),
    hint: 'set it to the URL users reach the status page at, e.g. https://samgita.example.com',
  },
};

function read(env: NodeJS.ProcessEnv, name: string): unknown {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const spec = SPECS[name];
  if (!spec) return raw;
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) {
    const why = parsed.error.issues[0]?.message ?? 'is invalid';
    // Never echo DATABASE_URL: it may hold a password.
    const shown = name === 'DATABASE_URL' ? '' : ` (got ${JSON.stringify(raw)})`;
    throw new SamgitaError('CONFIG_ENV_INVALID', `environment variable ${name} ${why}${shown}`, {
      hint: spec.hint,
      location: { field: name },
    });
  }
  return parsed.data;
}

export function loadEnvConfig(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const home = (read(env, 'SAMGITA_HOME') as string | undefined) ?? path.join(os.homedir(), '.samgita');
  return {
    databaseUrl: (read(env, 'DATABASE_URL') as string | undefined) ?? null,
    samgitaHome: path.resolve(home),
    claudeBin: (read(env, 'SAMGITA_CLAUDE_BIN') as string | undefined) ?? 'claude',
    port: (read(env, 'PORT') as number | undefined) ?? 4000,
    host: (read(env, 'HOST') as string | undefined) ?? '127.0.0.1',
    logLevel: (read(env, 'LOG_LEVEL') as EnvConfig['logLevel'] | undefined) ?? 'info',
    publicUrl: (read(env, 'SAMGITA_PUBLIC_URL') as string | undefined) ?? null,
  };
}
