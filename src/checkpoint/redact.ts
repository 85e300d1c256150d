/**
 * Nothing secret goes into the state ref: every known secret value is
 * replaced (sandbox/secrets.ts), then the credential patterns of the commit
 * scan (sandbox/secret-scan.ts) are looked for and the values that match are
 * replaced by what they looked like. Verify output and error messages are the
 * usual carriers.
 */
import { createHash } from 'node:crypto';
import { scanAdded } from '../sandbox/secret-scan.js';
import { knownSecrets, redact } from '../sandbox/secrets.js';
import type { StateFiles } from './document.js';

export async function redactStateFiles(files: StateFiles, env: NodeJS.ProcessEnv = process.env): Promise<StateFiles> {
  const secrets = knownSecrets(env);
  const out: StateFiles = {};
  const sk = secretsKey(secrets);
  const key = (name: string, text: string) =>
    createHash('sha256').update(name).update('\0').update(text).update('\0').update(sk).digest('hex');
  const toScan: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    // Most files of a state commit are those of the last one (memories, untouched continuity logs):
    // the pattern scan, the costly part, runs only on what changed.
    const cached = SCANNED.get(key(name, text));
    if (cached !== undefined) out[name] = cached ?? text;
    else {
      out[name] = redact(text, secrets);
      toScan.push(name);
    }
  }
  // One scan over every changed file's lines (the rules cost per call, not per line), mapped back.
  const origin: Array<{ file: string; line: number }> = [];
  const lines: Array<{ line: number; text: string }> = [];
  for (const file of toScan)
    out[file]!.split('\n').forEach((text, i) => {
      origin.push({ file, line: i + 1 });
      lines.push({ line: lines.length + 1, text });
    });
  const hits = (lines.length ? await scanAdded([{ file: 'state', lines }], []) : []).map((h) => ({
    ...h,
    ...origin[h.line - 1]!,
  }));
  for (const h of hits) {
    const lines = out[h.file]!.split('\n');
    lines[h.line - 1] = redactLine(h.file, lines[h.line - 1]!, h.what);
    out[h.file] = lines.join('\n');
  }
  for (const name of toScan) remember(key(name, files[name]!), out[name] === files[name] ? null : out[name]!);
  return out;
}

/**
 * Scanned files by (path, content, known secrets): null when the scan changed
 * nothing (nearly always), else the redacted text. Bounded: the most recent first out.
 */
const SCANNED = new Map<string, string | null>();
const SCANNED_MAX = 50_000;

function remember(k: string, redacted: string | null): void {
  SCANNED.set(k, redacted);
  if (SCANNED.size > SCANNED_MAX) SCANNED.delete(SCANNED.keys().next().value!);
}

function secretsKey(secrets: readonly { value: string }[]): string {
  return createHash('sha256')
    .update(secrets.map((s) => s.value).join('\0'))
    .digest('hex');
}

/** One pretty-printed JSON value per line: the string on the line is replaced, the structure kept. */
function redactLine(file: string, line: string, what: string): string {
  const marker = `[redacted: ${what.replace(/["\\]/g, '')}]`;
  if (!file.endsWith('.json')) return marker;
  const m = /^(\s*(?:"(?:[^"\\]|\\.)*":\s*)?)"(?:[^"\\]|\\.)*"(,?)\s*$/.exec(line);
  return m ? `${m[1]}${JSON.stringify(marker)}${m[2]}` : line.replace(/\S.*$/, JSON.stringify(marker));
}
