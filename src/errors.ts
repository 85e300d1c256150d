/**
 * One error class with a stable shape, so the CLI, the API and the logs can all
 * report failures the same way: a machine-readable `code`, a human message, and
 * a `hint` that says how to fix it.
 */
export type ErrorCode =
  | 'CONFIG_ENV_INVALID'
  | 'CONFIG_YAML_SYNTAX'
  | 'CONFIG_YAML_INVALID'
  | 'DB_CONNECT_FAILED'
  | 'DB_MIGRATION_CHECKSUM_MISMATCH'
  | 'DB_MIGRATION_FAILED'
  | 'DB_EMBEDDED_FAILED'
  | 'PRD_MISSING'
  | 'PRD_INVALID'
  | 'REPO_NOT_GIT'
  | 'REPO_INVALID'
  | 'GIT_FAILED'
  | 'CLAUDE_NOT_FOUND'
  | 'SANDBOX_UNAVAILABLE'
  | 'SECRET_DETECTED'
  | 'CLAUDE_NOT_LOGGED_IN'
  | 'CLAUDE_FAILED'
  | 'CLAUDE_TIMEOUT'
  | 'CLAUDE_RATE_LIMITED'
  | 'CLAUDE_OVERLOADED'
  | 'CLAUDE_AUTH_FAILED'
  | 'CLAUDE_BILLING'
  | 'BUDGET_EXCEEDED'
  | 'VERIFY_FAILED'
  | 'PLAN_INVALID'
  | 'STATE_INVALID'
  | 'PROJECT_HELD'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INVALID_INPUT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'CANCELLED'
  | 'INTERNAL';

export interface SamgitaErrorOptions {
  hint?: string | undefined;
  /** Where the fault is: a file path with line and column, or a field name. */
  location?: { file?: string; line?: number; column?: number; field?: string } | undefined;
  details?: Record<string, unknown> | undefined;
  cause?: unknown;
}

export class SamgitaError extends Error {
  override readonly name = 'SamgitaError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly location: SamgitaErrorOptions['location'];
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: SamgitaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    // The thrower's own advice, else the code's default (REMEDIES: the one place remediation is written).
    this.hint = options.hint ?? REMEDIES[code].hint;
    this.location = options.location;
    this.details = options.details;
  }

  /** `file:line:column: message` followed by the hint, as compilers print it. */
  format(): string {
    const loc = this.location;
    let prefix = '';
    if (loc?.file) {
      prefix = loc.file;
      if (loc.line !== undefined) prefix += `:${loc.line}`;
      if (loc.line !== undefined && loc.column !== undefined) prefix += `:${loc.column}`;
      prefix += ': ';
    }
    const head = `${prefix}error ${this.code}: ${this.message}`;
    return this.hint ? `${head}\n  hint: ${this.hint}` : head;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.location ? { location: this.location } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export function isSamgitaError(err: unknown, code?: ErrorCode): err is SamgitaError {
  return err instanceof SamgitaError && (code === undefined || err.code === code);
}

type ErrorOutcome = 'failed' | 'usage_error' | 'action_required' | 'interrupted';

interface Remedy {
  /** What the error means for the exit-code contract (src/cli/outcome.ts). */
  outcome: ErrorOutcome;
  /** The HTTP status the REST API answers with. */
  http: number;
  /** What to do about it, when the place that threw had nothing more specific to say. */
  hint?: string;
}

/**
 * What each error means for the person who meets it, in one place (as
 * probot maps errors to remediation): the exit code of the command, the HTTP
 * status of the API, and the default fix. A Record, so a new code cannot be
 * added without saying all three.
 */
export const REMEDIES: Readonly<Record<ErrorCode, Remedy>> = {
  CONFIG_ENV_INVALID: { outcome: 'usage_error', http: 500, hint: 'fix the environment variable named above' },
  CONFIG_YAML_SYNTAX: { outcome: 'usage_error', http: 400, hint: 'fix the YAML at the position shown' },
  CONFIG_YAML_INVALID: {
    outcome: 'usage_error',
    http: 400,
    hint: '`samgita schema` prints the JSON Schema of samgita.yaml; docs/configuration.md describes every key',
  },
  DB_CONNECT_FAILED: {
    outcome: 'failed',
    http: 503,
    hint: 'check DATABASE_URL and that the server is running and reachable; unset DATABASE_URL to use the embedded PostgreSQL',
  },
  DB_MIGRATION_CHECKSUM_MISMATCH: {
    outcome: 'failed',
    http: 500,
    hint: 'a migration file was edited after it was applied; restore it and add a new migration instead',
  },
  DB_MIGRATION_FAILED: { outcome: 'failed', http: 500 },
  DB_EMBEDDED_FAILED: {
    outcome: 'failed',
    http: 500,
    hint: 'set DATABASE_URL to a PostgreSQL server, or check SAMGITA_HOME is writable',
  },
  PRD_MISSING: { outcome: 'usage_error', http: 400, hint: 'commit a PRD.md at the root of the repository' },
  PRD_INVALID: { outcome: 'usage_error', http: 400 },
  REPO_NOT_GIT: { outcome: 'usage_error', http: 400, hint: 'give the path of a git repository (`git init` makes one)' },
  REPO_INVALID: { outcome: 'usage_error', http: 400 },
  GIT_FAILED: { outcome: 'failed', http: 502 },
  SANDBOX_UNAVAILABLE: {
    outcome: 'action_required',
    http: 500,
    hint: 'install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; in a container, allow user namespaces), or turn the sandbox off explicitly: `sandbox: { enabled: false }` in samgita.yaml, or `samgita runner --no-sandbox`, to run agents and verify commands unconfined on this machine',
  },
  SECRET_DETECTED: {
    outcome: 'action_required',
    http: 409,
    hint: 'remove the credential from the branch (rewrite the commit that added it) and rotate it if it was real; nothing was pushed',
  },
  CLAUDE_NOT_FOUND: {
    outcome: 'usage_error',
    http: 500,
    hint: 'install with `npm install -g @anthropic-ai/claude-code` or set SAMGITA_CLAUDE_BIN',
  },
  CLAUDE_NOT_LOGGED_IN: {
    outcome: 'action_required',
    http: 500,
    hint: 'run `claude /login`, or set ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN',
  },
  CLAUDE_FAILED: { outcome: 'failed', http: 502 },
  CLAUDE_TIMEOUT: { outcome: 'failed', http: 504 },
  CLAUDE_RATE_LIMITED: { outcome: 'failed', http: 503, hint: 'wait for the rate limit to reset' },
  CLAUDE_OVERLOADED: { outcome: 'failed', http: 503, hint: 'try again later' },
  CLAUDE_AUTH_FAILED: {
    outcome: 'action_required',
    http: 500,
    hint: 'check the API key or log in again (`claude /login`), then `samgita resume <project>`',
  },
  CLAUDE_BILLING: {
    outcome: 'action_required',
    http: 500,
    hint: 'check the billing of the Anthropic account, then `samgita resume <project>`',
  },
  BUDGET_EXCEEDED: {
    outcome: 'action_required',
    http: 409,
    hint: 'raise the budget in samgita.yaml, then `samgita resume <project>`',
  },
  VERIFY_FAILED: { outcome: 'failed', http: 500 },
  PLAN_INVALID: { outcome: 'failed', http: 502 },
  STATE_INVALID: {
    outcome: 'usage_error',
    http: 422,
    hint: 'the state ref (refs/samgita/state) was edited or written by a newer Samgita; import from an earlier state commit with --snapshot',
  },
  PROJECT_HELD: {
    outcome: 'action_required',
    http: 409,
    hint: 'run the project from the deployment that holds it, or take it over with --take-over if that one is gone',
  },
  NOT_FOUND: { outcome: 'usage_error', http: 404, hint: '`samgita status` lists projects and their tasks' },
  CONFLICT: { outcome: 'usage_error', http: 409 },
  INVALID_INPUT: { outcome: 'usage_error', http: 400 },
  UNAUTHORIZED: {
    outcome: 'action_required',
    http: 401,
    hint: 'send an API key as `Authorization: Bearer <key>`; `samgita keys create` makes one',
  },
  FORBIDDEN: { outcome: 'action_required', http: 403, hint: 'this needs a key with the write scope' },
  CANCELLED: { outcome: 'interrupted', http: 409 },
  INTERNAL: { outcome: 'failed', http: 500 },
};

const OUTCOME_EXIT: Record<ErrorOutcome, number> = { failed: 1, usage_error: 2, action_required: 3, interrupted: 130 };

/** The outcome an error ends a command with; anything not a SamgitaError is a failure. */
export function outcomeForError(err: unknown): ErrorOutcome {
  return isSamgitaError(err) ? REMEDIES[err.code].outcome : 'failed';
}

/** The process exit code for an error that ended a command. */
export function exitCodeFor(err: unknown): number {
  return OUTCOME_EXIT[outcomeForError(err)];
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
