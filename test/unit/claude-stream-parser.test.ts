import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStreamParser, parseLine, parseTranscript } from '../../src/claude/stream-parser.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/transcripts');

describe('stream parser', () => {
  it('yields whole events across arbitrary chunk boundaries', () => {
    const text = fs.readFileSync(path.join(fixtures, 'real-write-success.jsonl'), 'utf8');
    const whole = parseTranscript(text);
    const p = createStreamParser();
    const got = [];
    const buf = Buffer.from(text);
    for (let i = 0; i < buf.length; i += 7) got.push(...p.push(buf.subarray(i, i + 7)));
    got.push(...p.end());
    expect(got).toEqual(whole);
    expect(whole.map((e) => e.type)).toEqual(['system', 'assistant', 'assistant', 'user', 'assistant', 'result']);
  });

  it('keeps multi-byte UTF-8 split between chunks intact', () => {
    const line = `${JSON.stringify({ type: 'assistant', text: 'naïve — ✓ 日本' })}\n`;
    const buf = Buffer.from(line);
    const p = createStreamParser();
    const out = [...p.push(buf.subarray(0, 22)), ...p.push(buf.subarray(22, 23)), ...p.push(buf.subarray(23))];
    expect(out).toEqual([{ type: 'assistant', text: 'naïve — ✓ 日本' }]);
  });

  it('reports malformed lines without throwing and continues', () => {
    const p = createStreamParser();
    const out = p.push(
      '{"type":"system","subtype":"init"}\nnot json\n[1,2]\n{"no":"type"}\n\n{"type":"x_new_event","a":1}\n',
    );
    expect(out.map((e) => e.type)).toEqual(['system', 'malformed', 'malformed', 'malformed', 'x_new_event']);
    expect(out[1]).toMatchObject({ type: 'malformed', line: 'not json' });
    expect(typeof (out[1] as { error: string }).error).toBe('string');
    expect(out[4]).toEqual({ type: 'x_new_event', a: 1 });
  });

  it('parses a final line without newline on end(), and nothing before', () => {
    const p = createStreamParser();
    expect(p.push('{"type":"result"')).toEqual([]);
    expect(p.push(',"is_error":false}')).toEqual([]);
    expect(p.end()).toEqual([{ type: 'result', is_error: false }]);
    expect(p.end()).toEqual([]);
  });

  it('handles CRLF and blank lines', () => {
    expect(parseLine('{"type":"user"}\r')).toEqual({ type: 'user' });
    expect(parseLine('   ')).toBeUndefined();
  });
});
