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

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
