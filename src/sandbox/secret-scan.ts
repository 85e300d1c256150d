/**
 * Nothing secret is committed or pushed: the lines a change adds are scanned
 * for the values of every secret Samgita knows (secrets.ts) and for common
 * credential patterns (secretlint's recommended rules: cloud keys, GitHub,
 * Slack, npm and model API tokens, private keys, credentials in URLs…).
 * A hit names the file, line and column and what matched — never the value.
 *
 * `parseAddedLines` is pure; `scanAdded` runs the rules (no I/O).
 */
import { lintSource } from '@secretlint/core';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';
import type { Secret } from './secrets.js';

export interface AddedLines {
  file: string;
  lines: Array<{ line: number; text: string }>;
}

export interface SecretHit {
  file: string;
  line: number;
  column: number;
  /** `the value of ANTHROPIC_API_KEY`, `GitHub token (secretlint-rule-github)`. */
  what: string;
}

/** The added lines, by file and new line number, of a `git diff -U0` / `git log -p -U0` text. Pure. */
export function parseAddedLines(diff: string): AddedLines[] {
  const files = new Map<string, AddedLines>();
  let current: AddedLines | null = null;
  let next = 0;
  for (const raw of diff.split('\n')) {
    if (raw.startsWith('diff --git ')) {
      current = null;
      continue;
    }
    if (raw.startsWith('+++ ')) {
      const name = raw.slice(4);
      if (name === '/dev/null') {
        current = null;
        continue;
      }
      const file = unquote(name).replace(/^b\//, '');
      current = files.get(file) ?? { file, lines: [] };
      files.set(file, current);
      continue;
    }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
    if (hunk) {
      next = Number(hunk[1]);
      continue;
    }
    if (!current) continue;
    if (raw.startsWith('+')) current.lines.push({ line: next++, text: raw.slice(1) });
    else if (raw.startsWith(' ')) next++;
  }
  return [...files.values()].filter((f) => f.lines.length > 0);
}

function unquote(name: string): string {
  if (!name.startsWith('"')) return name;
  try {
    return JSON.parse(name) as string;
  } catch {
    return name.slice(1, -1);
  }
}

const RULES = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommended }] };

/** Every hit in the added lines: known secret values first, then credential patterns. */
export async function scanAdded(files: readonly AddedLines[], secrets: readonly Secret[]): Promise<SecretHit[]> {
  const hits: SecretHit[] = [];
  for (const f of files) {
    for (const { line, text } of f.lines) {
      for (const s of secrets) {
        const at = text.indexOf(s.value);
        if (at >= 0) hits.push({ file: f.file, line, column: at + 1, what: `the value of ${s.name}` });
      }
    }
    // The rules see the added lines as one text; their line numbers map back to the file's.
    const result = await lintSource({
      source: { filePath: f.file, content: f.lines.map((l) => l.text).join('\n'), contentType: 'text' },
      options: { config: RULES },
    });
    for (const m of result.messages) {
      const line = f.lines[m.loc.start.line - 1]?.line ?? m.loc.start.line;
      if (hits.some((h) => h.file === f.file && h.line === line)) continue;
      const rule = m.ruleId.replace(/^@secretlint\//, '');
      hits.push({ file: f.file, line, column: m.loc.start.column + 1, what: `${ruleLabel(m.message)} (${rule})` });
    }
  }
  return hits;
}

/** secretlint's message names what it found and then quotes it: keep only the name. */
function ruleLabel(message: string): string {
  const m = /^found (.+?):/i.exec(message);
  return m?.[1] ?? 'a credential';
}

/** What the agent and the person read: where, what, and how to fix it. */
export function describeHits(hits: readonly SecretHit[], when: 'commit' | 'push'): string {
  const where = hits
    .slice(0, 20)
    .map((h) => `- ${h.file}:${h.line}:${h.column}: ${h.what}`)
    .join('\n');
  const more = hits.length > 20 ? `\n- … and ${hits.length - 20} more` : '';
  return `Secret scan blocked the ${when}: the change adds what looks like a credential.\n${where}${more}\nRemove it from the files (read secrets from the environment at run time instead; use an obviously fake value in tests), then the work can be committed.`;
}

/** A `git diff -U0` text scanned: the reason to refuse it, or null when clean. */
export async function scanDiff(
  diff: string,
  secrets: readonly Secret[],
  when: 'commit' | 'push',
): Promise<string | null> {
  const hits = await scanAdded(parseAddedLines(diff), secrets);
  return hits.length ? describeHits(hits, when) : null;
}
