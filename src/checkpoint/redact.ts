/**
 * Nothing secret goes into the state ref: every known secret value is
 * replaced (sandbox/secrets.ts), then the credential patterns of the commit
 * scan (sandbox/secret-scan.ts) are looked for and the values that match are
 * replaced by what they looked like. Verify output and error messages are the
 * usual carriers.
 */
import { scanAdded } from '../sandbox/secret-scan.js';
import { knownSecrets, redact } from '../sandbox/secrets.js';
import type { StateFiles } from './document.js';

export async function redactStateFiles(files: StateFiles, env: NodeJS.ProcessEnv = process.env): Promise<StateFiles> {
  const secrets = knownSecrets(env);
  const out: StateFiles = {};
  for (const [name, text] of Object.entries(files)) out[name] = redact(text, secrets);
  const hits = await scanAdded(
    Object.entries(out).map(([file, text]) => ({
      file,
      lines: text.split('\n').map((t, i) => ({ line: i + 1, text: t })),
    })),
    [],
  );
  for (const h of hits) {
    const lines = out[h.file]!.split('\n');
    lines[h.line - 1] = redactLine(h.file, lines[h.line - 1]!, h.what);
    out[h.file] = lines.join('\n');
  }
  return out;
}

/** One pretty-printed JSON value per line: the string on the line is replaced, the structure kept. */
function redactLine(file: string, line: string, what: string): string {
  const marker = `[redacted: ${what.replace(/["\\]/g, '')}]`;
  if (!file.endsWith('.json')) return marker;
  const m = /^(\s*(?:"(?:[^"\\]|\\.)*":\s*)?)"(?:[^"\\]|\\.)*"(,?)\s*$/.exec(line);
  return m ? `${m[1]}${JSON.stringify(marker)}${m[2]}` : line.replace(/\S.*$/, JSON.stringify(marker));
}
