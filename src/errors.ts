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
    this.hint = options.hint;
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

/**
 * What each error means for the exit-code contract (src/cli/outcome.ts): a
 * usage or configuration error (2: fix the command or the file, nothing was
 * started), something only the user can unblock (3: log in, pay, raise a
 * budget), or a failure (1). A Record, so a new code cannot be forgotten.
 */
const ERROR_OUTCOMES: Record<ErrorCode, ErrorOutcome> = {
  CONFIG_ENV_INVALID: 'usage_error',
  CONFIG_YAML_SYNTAX: 'usage_error',
  CONFIG_YAML_INVALID: 'usage_error',
  DB_CONNECT_FAILED: 'failed',
  DB_MIGRATION_CHECKSUM_MISMATCH: 'failed',
  DB_MIGRATION_FAILED: 'failed',
  DB_EMBEDDED_FAILED: 'failed',
  PRD_MISSING: 'usage_error',
  PRD_INVALID: 'usage_error',
  REPO_NOT_GIT: 'usage_error',
  REPO_INVALID: 'usage_error',
  GIT_FAILED: 'failed',
  CLAUDE_NOT_FOUND: 'usage_error',
  CLAUDE_NOT_LOGGED_IN: 'action_required',
  CLAUDE_FAILED: 'failed',
  CLAUDE_TIMEOUT: 'failed',
  CLAUDE_RATE_LIMITED: 'failed',
  CLAUDE_OVERLOADED: 'failed',
  CLAUDE_AUTH_FAILED: 'action_required',
  CLAUDE_BILLING: 'action_required',
  BUDGET_EXCEEDED: 'action_required',
  VERIFY_FAILED: 'failed',
  PLAN_INVALID: 'failed',
  NOT_FOUND: 'usage_error',
  CONFLICT: 'usage_error',
  INVALID_INPUT: 'usage_error',
  UNAUTHORIZED: 'action_required',
  FORBIDDEN: 'action_required',
  CANCELLED: 'interrupted',
  INTERNAL: 'failed',
};

const OUTCOME_EXIT: Record<ErrorOutcome, number> = { failed: 1, usage_error: 2, action_required: 3, interrupted: 130 };

/** The outcome an error ends a command with; anything not a SamgitaError is a failure. */
export function outcomeForError(err: unknown): ErrorOutcome {
  return isSamgitaError(err) ? ERROR_OUTCOMES[err.code] : 'failed';
}

/** The process exit code for an error that ended a command. */
export function exitCodeFor(err: unknown): number {
  return OUTCOME_EXIT[outcomeForError(err)];
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
