/**
 * The stream-json events we read from `claude -p --output-format stream-json --verbose`.
 * Shapes come from the Agent SDK's types; `ClaudeEvent` adds what the parser
 * produces for lines it cannot read and for event types we do not model.
 */
import type {
  SDKAPIRetryMessage,
  SDKAssistantMessage,
  SDKAssistantMessageError,
  SDKMessage,
  SDKRateLimitEvent,
  SDKResultMessage,
  SDKSystemMessage,
  SDKUserMessage,
} from '@anthropic-ai/claude-agent-sdk';

export type {
  SDKAPIRetryMessage,
  SDKAssistantMessage,
  SDKAssistantMessageError,
  SDKMessage,
  SDKRateLimitEvent,
  SDKResultMessage,
  SDKSystemMessage,
  SDKUserMessage,
};

/** A line that was not a JSON object. */
export interface MalformedLine {
  type: 'malformed';
  line: string;
  error: string;
}

/** Any JSON object with a `type` we do not model (passed through untouched). */
export interface UnknownEvent {
  type: string;
  [key: string]: unknown;
}

/** The events the accumulator reads. */
export type KnownEvent =
  | SDKSystemMessage
  | SDKAPIRetryMessage
  | SDKAssistantMessage
  | SDKUserMessage
  | SDKRateLimitEvent
  | SDKResultMessage;

export type ClaudeEvent = SDKMessage | MalformedLine | UnknownEvent;

export function isMalformed(e: ClaudeEvent): e is MalformedLine {
  return e.type === 'malformed' && typeof (e as MalformedLine).line === 'string';
}
export function isInit(e: ClaudeEvent): e is SDKSystemMessage {
  return e.type === 'system' && (e as { subtype?: unknown }).subtype === 'init';
}
export function isApiRetry(e: ClaudeEvent): e is SDKAPIRetryMessage {
  return e.type === 'system' && (e as { subtype?: unknown }).subtype === 'api_retry';
}
export function isAssistant(e: ClaudeEvent): e is SDKAssistantMessage {
  return e.type === 'assistant' && typeof (e as { message?: unknown }).message === 'object';
}
export function isUser(e: ClaudeEvent): e is SDKUserMessage {
  return e.type === 'user';
}
export function isRateLimitEvent(e: ClaudeEvent): e is SDKRateLimitEvent {
  return e.type === 'rate_limit_event' && typeof (e as { rate_limit_info?: unknown }).rate_limit_info === 'object';
}
export function isResult(e: ClaudeEvent): e is SDKResultMessage {
  return e.type === 'result';
}
