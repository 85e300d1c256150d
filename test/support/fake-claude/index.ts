/**
 * The scripted stand-in for the Claude Code CLI (fake-claude.mjs) and a helper
 * to write its script. See the header of fake-claude.mjs for the format.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const fakeClaudePath = fileURLToPath(new URL('./fake-claude.mjs', import.meta.url));

export type FakeMatch = string | { prompt?: string; cwd?: string };

export type FakeStep =
  | { write: { path: string; content: string } }
  | { append: { path: string; content: string } }
  | { delete: string | { path: string } }
  | { run: string }
  | { sleep: number }
  | { text: string }
  | { emit: Record<string, unknown> }
  | { rate_limit: { resetsInSeconds?: number; type?: string } }
  | { fail: 'overloaded' | 'authentication_failed' | 'billing_error' | 'server_error' | 'not_logged_in' | 'rate_limit' }
  | { hang: true }
  | { crash: { code?: number; signal?: NodeJS.Signals } }
  | { structured_output: unknown }
  | {
      result: {
        text?: string;
        cost_usd?: number;
        usage?: Record<string, number>;
        subtype?: string;
        is_error?: boolean;
        num_turns?: number;
      };
    };

export interface FakeScenario {
  /** Substring or "/regex/flags" of the prompt, or {prompt, cwd}. Omitted: always applies. */
  match?: FakeMatch;
  steps: FakeStep[];
}

/** Writes `<dir>/fake-claude-script.json`; returns its path (for FAKE_CLAUDE_SCRIPT). */
export function writeFakeScript(dir: string, scenarios: FakeScenario[]): string {
  const file = path.join(dir, 'fake-claude-script.json');
  fs.writeFileSync(file, JSON.stringify({ scenarios }, null, 2));
  return file;
}

/** Reads FAKE_CLAUDE_LOG lines. */
export function readFakeLog(file: string): Array<{
  argv: string[];
  cwd: string;
  pid: number;
  prompt?: string;
  command: string;
  flags: Record<string, unknown>;
}> {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
