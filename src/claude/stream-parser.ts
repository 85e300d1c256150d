/**
 * Splits the CLI's stdout into whole lines as chunks arrive and parses each one.
 * Pure: no I/O. A line that is not a JSON object becomes a `malformed` item;
 * nothing here throws.
 */
import type { ClaudeEvent, MalformedLine } from './events.js';

export interface StreamParser {
  /** Feed a chunk; returns the events completed by it (possibly none). */
  push(chunk: Buffer | string): ClaudeEvent[];
  /** End of stream: parses a trailing line without a newline. */
  end(): ClaudeEvent[];
}

/** Longest line kept before it is reported as malformed (protects memory). */
const MAX_LINE = 64 * 1024 * 1024;

export function parseLine(line: string): ClaudeEvent | undefined {
  const text = line.trim();
  if (text === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return malformed(line, 'not a JSON object');
    }
    const type = (value as { type?: unknown }).type;
    if (typeof type !== 'string') return malformed(line, 'no "type" field');
    return value as ClaudeEvent;
  } catch (err) {
    return malformed(line, err instanceof Error ? err.message : String(err));
  }
}

function malformed(line: string, error: string): MalformedLine {
  return { type: 'malformed', line, error };
}

export function createStreamParser(): StreamParser {
  const decoder = new TextDecoder('utf-8');
  let buffer = '';

  const drain = (): ClaudeEvent[] => {
    const out: ClaudeEvent[] = [];
    let nl = buffer.indexOf('\n');
    while (nl !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const e = parseLine(line);
      if (e) out.push(e);
      nl = buffer.indexOf('\n');
    }
    if (buffer.length > MAX_LINE) {
      out.push(malformed(buffer.slice(0, 200), `line longer than ${MAX_LINE} bytes`));
      buffer = '';
    }
    return out;
  };

  return {
    push(chunk) {
      buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      return drain();
    },
    end() {
      buffer += decoder.decode();
      const out = drain();
      const e = parseLine(buffer);
      buffer = '';
      if (e) out.push(e);
      return out;
    },
  };
}

/** Parses a whole transcript (e.g. a recorded .jsonl file). */
export function parseTranscript(text: string): ClaudeEvent[] {
  const p = createStreamParser();
  return [...p.push(text), ...p.end()];
}
