/**
 * Folds stream-json events into a run summary, and classifies how a run ended.
 * Pure: no I/O, no clock.
 */
import {
  type ClaudeEvent,
  isApiRetry,
  isAssistant,
  isInit,
  isMalformed,
  isRateLimitEvent,
  isResult,
} from './events.js';

export interface ClaudeUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export interface RateLimitInfo {
  status: 'allowed' | 'allowed_warning' | 'rejected' | string;
  resetsAt: Date | undefined;
  type: string | undefined;
}

export interface RunSummary {
  sessionId: string | undefined;
  model: string | undefined;
  usage: ClaudeUsage;
  costUsd: number;
  numTurns: number;
  durationMs: number | undefined;
  resultText: string | undefined;
  isError: boolean;
  subtype: string | undefined;
  apiErrorStatus: number | undefined;
  rateLimit: RateLimitInfo | undefined;
  /** The `error` field of the (synthetic) assistant message, e.g. `rate_limit`. */
  assistantError: string | undefined;
  apiRetries: number;
  /** Whether a `result` event arrived. */
  hasResult: boolean;
  structuredOutput: unknown;
  /** Error strings from error results (`errors`). */
  errors: string[];
  malformedLines: number;
  toolUses: number;
  /** Internal: last usage per assistant message id (streamed blocks repeat it). */
  messageUsage: Record<string, ClaudeUsage>;
}

export function emptySummary(): RunSummary {
  return {
    sessionId: undefined,
    model: undefined,
    usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
    costUsd: 0,
    numTurns: 0,
    durationMs: undefined,
    resultText: undefined,
    isError: false,
    subtype: undefined,
    apiErrorStatus: undefined,
    rateLimit: undefined,
    assistantError: undefined,
    apiRetries: 0,
    hasResult: false,
    structuredOutput: undefined,
    errors: [],
    malformedLines: 0,
    toolUses: 0,
    messageUsage: {},
  };
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function toUsage(u: unknown): ClaudeUsage {
  const o = (u && typeof u === 'object' ? u : {}) as Record<string, unknown>;
  return {
    inputTokens: num(o.input_tokens),
    outputTokens: num(o.output_tokens),
    cacheReadTokens: num(o.cache_read_input_tokens),
    cacheWriteTokens: num(o.cache_creation_input_tokens),
  };
}

function sumUsage(all: Iterable<ClaudeUsage>): ClaudeUsage {
  const t: ClaudeUsage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  for (const u of all) {
    t.inputTokens += u.inputTokens;
    t.outputTokens += u.outputTokens;
    t.cacheReadTokens += u.cacheReadTokens;
    t.cacheWriteTokens += u.cacheWriteTokens;
  }
  return t;
}

export function accumulate(s: RunSummary, e: ClaudeEvent): RunSummary {
  if (isMalformed(e)) return { ...s, malformedLines: s.malformedLines + 1 };
  if (isInit(e)) {
    return { ...s, sessionId: e.session_id ?? s.sessionId, model: e.model ?? s.model };
  }
  if (isApiRetry(e)) return { ...s, apiRetries: s.apiRetries + 1 };
  if (isRateLimitEvent(e)) {
    const info = e.rate_limit_info;
    return {
      ...s,
      rateLimit: {
        status: info.status,
        resetsAt: typeof info.resetsAt === 'number' ? new Date(info.resetsAt * 1000) : s.rateLimit?.resetsAt,
        type: info.rateLimitType ?? s.rateLimit?.type,
      },
    };
  }
  if (isAssistant(e)) {
    const msg = e.message as unknown as { id?: unknown; model?: unknown; usage?: unknown; content?: unknown };
    const next: RunSummary = { ...s };
    if (e.error) next.assistantError = e.error;
    const synthetic = msg.model === '<synthetic>';
    if (!synthetic && typeof msg.model === 'string' && !next.model) next.model = msg.model;
    if (!synthetic && msg.usage) {
      const id = typeof msg.id === 'string' ? msg.id : `anon-${Object.keys(s.messageUsage).length}`;
      next.messageUsage = { ...s.messageUsage, [id]: toUsage(msg.usage) };
      if (!s.hasResult) next.usage = sumUsage(Object.values(next.messageUsage));
    }
    if (Array.isArray(msg.content)) {
      next.toolUses += msg.content.filter((b: unknown) => (b as { type?: unknown })?.type === 'tool_use').length;
    }
    return next;
  }
  if (isResult(e)) {
    const r = e as unknown as Record<string, unknown>;
    const next: RunSummary = { ...s, hasResult: true };
    if (typeof r.session_id === 'string') next.sessionId = r.session_id;
    if (r.usage) next.usage = toUsage(r.usage);
    next.costUsd = num(r.total_cost_usd);
    next.numTurns = num(r.num_turns);
    if (typeof r.duration_ms === 'number') next.durationMs = r.duration_ms;
    if (typeof r.result === 'string') next.resultText = r.result;
    next.isError = r.is_error === true;
    if (typeof r.subtype === 'string') next.subtype = r.subtype;
    if (typeof r.api_error_status === 'number') next.apiErrorStatus = r.api_error_status;
    if (r.structured_output !== undefined) next.structuredOutput = r.structured_output;
    if (Array.isArray(r.errors)) next.errors = r.errors.filter((x): x is string => typeof x === 'string');
    return next;
  }
  return s;
}

export function summarize(events: Iterable<ClaudeEvent>): RunSummary {
  let s = emptySummary();
  for (const e of events) s = accumulate(s, e);
  return s;
}

export type OutcomeKind =
  | 'success'
  | 'rate_limited'
  | 'overloaded'
  | 'auth_failed'
  | 'billing'
  | 'max_turns'
  | 'max_budget'
  | 'server_error'
  | 'error'
  | 'timeout'
  | 'cancelled'
  | 'crashed';

export interface ClaudeOutcome {
  kind: OutcomeKind;
  /** For `rate_limited`: when the limit resets, if the CLI said. */
  resetsAt?: Date;
  /** One line for humans: the CLI's result text or what we saw. */
  message: string;
}

export interface ExitInfo {
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut?: boolean;
  cancelled?: boolean;
}

const AUTH_ERRORS = new Set([
  'authentication_failed',
  'oauth_org_not_allowed',
  'account_on_hold',
  'verification_required',
  'cloud_credential_error',
]);

export function classifyOutcome(s: RunSummary, exit: ExitInfo): ClaudeOutcome {
  const text = s.resultText ?? '';
  if (exit.cancelled) return { kind: 'cancelled', message: 'run cancelled' };
  if (exit.timedOut) return { kind: 'timeout', message: 'run timed out' };
  if (!s.hasResult) {
    const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode ?? 'unknown'}`;
    return { kind: 'crashed', message: `claude ended without a result (${how})` };
  }
  if (!s.isError && (s.subtype === 'success' || s.subtype === undefined)) {
    return { kind: 'success', message: text };
  }
  if (s.subtype === 'error_max_turns') return { kind: 'max_turns', message: text || 'maximum number of turns reached' };
  if (s.subtype === 'error_max_budget_usd') return { kind: 'max_budget', message: text || 'maximum budget reached' };

  const status = s.apiErrorStatus;
  const err = s.assistantError;
  const message = text || s.errors.join('; ') || `claude failed (${s.subtype ?? 'error'})`;
  if (s.rateLimit?.status === 'rejected' || status === 429 || err === 'rate_limit') {
    return s.rateLimit?.resetsAt
      ? { kind: 'rate_limited', resetsAt: s.rateLimit.resetsAt, message }
      : { kind: 'rate_limited', message };
  }
  if (status === 529 || err === 'overloaded' || /overloaded/i.test(text)) return { kind: 'overloaded', message };
  if (status === 401 || (err !== undefined && AUTH_ERRORS.has(err)) || /not logged in|invalid api key/i.test(text)) {
    return { kind: 'auth_failed', message };
  }
  if (status === 402 || err === 'billing_error' || /credit balance/i.test(text)) return { kind: 'billing', message };
  if ((status !== undefined && status >= 500) || err === 'server_error') return { kind: 'server_error', message };
  return { kind: 'error', message };
}
