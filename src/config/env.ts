import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { SamgitaError } from '../errors.js';
import { type AllowList, allowListError, parseAllowList } from '../outgoing-webhooks/target-policy.js';

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
  /** SAMGITA_TRUST_PROXY: whose X-Forwarded-* headers to believe (fastify's trustProxy); off by default. */
  trustProxy: boolean | string[];
  /** SAMGITA_COOKIE_SECURE, else whether SAMGITA_PUBLIC_URL is https: the session cookie's Secure attribute. */
  cookieSecure: boolean;
  /** SAMGITA_WEBHOOK_ALLOW: internal hosts and ranges outgoing webhooks may reach (none by default). */
  webhookAllow: AllowList;
  /** SAMGITA_PROJECT_ROOTS: directories besides SAMGITA_HOME that project working paths may be under. */
  projectRoots: string[];
  /** SAMGITA_ALLOW_LOCAL_GIT=1: git_url may be any local path or file:// URL, not only one under the project roots. */
  allowLocalGit: boolean;
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
  SAMGITA_TRUST_PROXY: {
    schema: z
      .string()
      .refine((v) => parseTrustProxy(v) !== null, 'must be true, false or comma-separated proxy addresses/CIDRs')
      .transform((v) => parseTrustProxy(v)!),
    hint: 'set it only behind a reverse proxy, to the proxy addresses, e.g. SAMGITA_TRUST_PROXY=127.0.0.1 or 10.0.0.5,10.1.0.0/16 (hop counts are not supported); true trusts every peer',
  },
  SAMGITA_COOKIE_SECURE: {
    schema: z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true'),
    hint: 'set it to 1 when users reach the status page over https (default: whether SAMGITA_PUBLIC_URL is https), or 0',
  },
  SAMGITA_WEBHOOK_ALLOW: {
    schema: z.string().refine((v) => allowListError(v) === null, {
      error: (issue) => `is invalid: ${allowListError(String(issue.input))}`,
    }),
    hint: 'set it to comma-separated host names and CIDR ranges, e.g. SAMGITA_WEBHOOK_ALLOW=127.0.0.1/32,hooks.internal',
  },
  SAMGITA_PROJECT_ROOTS: {
    schema: z
      .string()
      .transform((v) => v.split(':').filter((p) => p !== ''))
      .refine((ps) => ps.every((p) => path.isAbsolute(p)), 'must be a colon-separated list of absolute paths'),
    hint: 'set it like SAMGITA_PROJECT_ROOTS=/srv/code:/home/me/src (absolute directories), or unset it',
  },
  SAMGITA_ALLOW_LOCAL_GIT: {
    schema: z.enum(['0', '1']),
    hint: 'set it to 1 to allow any local path or file:// URL as git_url, or 0 (default)',
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
    trustProxy: (read(env, 'SAMGITA_TRUST_PROXY') as EnvConfig['trustProxy'] | undefined) ?? false,
    cookieSecure: cookieSecureFromEnv(env),
    webhookAllow: parseAllowList(read(env, 'SAMGITA_WEBHOOK_ALLOW') as string | undefined),
    projectRoots: ((read(env, 'SAMGITA_PROJECT_ROOTS') as string[] | undefined) ?? []).map((p) => path.resolve(p)),
    allowLocalGit: read(env, 'SAMGITA_ALLOW_LOCAL_GIT') === '1',
  };
}

/** The session cookie's Secure attribute: SAMGITA_COOKIE_SECURE, else whether SAMGITA_PUBLIC_URL is https. */
export function cookieSecureFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const set = read(env, 'SAMGITA_COOKIE_SECURE') as boolean | undefined;
  if (set !== undefined) return set;
  const url = read(env, 'SAMGITA_PUBLIC_URL') as string | undefined;
  return url !== undefined && new URL(url).protocol === 'https:';
}

/**
 * fastify's trustProxy from SAMGITA_TRUST_PROXY: true/false, or addresses, CIDRs and proxy-addr's
 * names (loopback, linklocal, uniquelocal); null if invalid. fastify 5 ignores hop counts (it
 * trusts no one for a number), so a number other than 0 is refused rather than silently useless.
 */
function parseTrustProxy(raw: string): boolean | string[] | null {
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false' || v === '0') return false;
  const parts = v.split(',').map((p) => p.trim());
  const ok = (p: string): boolean => {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(p)) return true;
    const [addr, bits, extra] = p.split('/');
    const family = isIP(addr ?? '');
    if (!family || extra !== undefined) return false;
    if (bits === undefined) return true;
    return /^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
  };
  return parts.length > 0 && parts.every(ok) ? parts : null;
}
