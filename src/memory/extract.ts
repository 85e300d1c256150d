/**
 * What Reflect keeps from an agent's run, beside the episodic summary: facts
 * about the codebase (semantic) and commands that did something (procedural),
 * lifted from what the agent said without asking a model again; and when two
 * memories are the same lesson. Pure.
 */
import type { MemoryType } from '../store/memories.js';

export interface NewMemory {
  type: MemoryType;
  content: string;
  importance: number;
}

export interface ReflectInput {
  key: string;
  agentType: string;
  /** The agent's closing message (the CLI's result text). */
  summary: string;
  /** Why earlier loops of this task were sent back, oldest first. */
  continuity: readonly string[];
}

const MAX_SEMANTIC = 5;
const MAX_PROCEDURAL = 3;
const MAX_CHARS = 400;

// Shell commands an agent reports running: the first word of an inline code span.
const COMMAND =
  /^(?:\$\s*)?(?:npm|npx|pnpm|yarn|bun|node|deno|tsc|vitest|jest|make|cargo|go|python3?|pytest|uv|pip|poetry|mvn|gradle|\.\/gradlew|dotnet|bundle|rake|rspec|mix|docker|git|bash|sh|\.\/[\w./-]+)\b/;
// A path or file name, the mark of a fact about the codebase ("src/store/tasks.ts", "package.json").
const PATH =
  /(?:^|[\s`'"(])(?:[\w.-]+\/)+[\w.-]+|\b[\w-]+\.(?:ts|tsx|js|mjs|cjs|json|ya?ml|sql|md|py|go|rs|java|rb|toml|sh|css|html)\b/;
// Sentences saying how something is, not only what was done to it.
const FACT =
  /\b(?:is|are|uses?|lives?|contains?|exports?|stores?|reads?|writes?|defines?|expects?|requires?|handles?|owns?|configured|located|needs?|must|returns?|keeps?|runs?)\b/i;

function clean(s: string): string {
  return s
    .replace(/^[\s>*+-]+|^\d+[.)]\s+/g, '')
    .replace(/\*\*/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Sentences and list items, without fenced code (its commands are taken on their own). */
function sentences(text: string): string[] {
  return text
    .replace(/```[\s\S]*?```/g, '\n')
    .split(/\n+|(?<=[.!?])\s+(?=[A-Z`])/)
    .map(clean)
    .filter((s) => s.length >= 12 && !/^#+\s/.test(s));
}

function clip(s: string): string {
  return s.length > MAX_CHARS ? `${s.slice(0, MAX_CHARS - 1)}…` : s;
}

function commandsIn(text: string): string[] {
  const spans = [...text.matchAll(/`([^`\n]{2,200})`/g)].map((m) => m[1]!.trim());
  const fenced = [...text.matchAll(/```(?:bash|sh|shell|console)?\n([\s\S]*?)```/g)].flatMap((m) =>
    m[1]!.split('\n').map((l) => l.trim()),
  );
  return [...spans, ...fenced].map((c) => c.replace(/^\$\s*/, '')).filter((c) => COMMAND.test(c));
}

/** Facts and commands in the agent's summary, and what fixed an earlier loop's failure. */
export function extractMemories(input: ReflectInput): NewMemory[] {
  const out: NewMemory[] = [];
  const seen = new Set<string>();
  const push = (m: NewMemory) => {
    const k = normalize(m.content);
    if (k && !seen.has(k)) {
      seen.add(k);
      out.push({ ...m, content: clip(m.content) });
    }
  };
  const all = sentences(input.summary);
  // Commands: each sentence that names one says what it is for ("ran `npm test` — all pass").
  let procedural = 0;
  for (const s of all) {
    if (procedural >= MAX_PROCEDURAL) break;
    const cmds = commandsIn(s);
    if (cmds.length === 0) continue;
    push({ type: 'procedural', content: s, importance: 0.6 });
    procedural++;
  }
  for (const cmd of commandsIn(input.summary.match(/```[\s\S]*?```/g)?.join('\n') ?? '')) {
    if (procedural >= MAX_PROCEDURAL) break;
    push({ type: 'procedural', content: `Command that worked in ${input.key}: ${cmd}`, importance: 0.6 });
    procedural++;
  }
  // The loop that got past an earlier failure: how it was fixed is worth keeping as a procedure.
  const lastFailure = input.continuity.at(-1);
  if (lastFailure && all.length > 0) {
    const failure = lastFailure.split('\n')[0]!.slice(0, 160);
    push({ type: 'procedural', content: `After "${failure}", what fixed it: ${all[0]}`, importance: 0.65 });
  }
  let semantic = 0;
  for (const s of all) {
    if (semantic >= MAX_SEMANTIC) break;
    if (!PATH.test(s) || !FACT.test(s) || commandsIn(s).length > 0) continue;
    push({ type: 'semantic', content: s, importance: 0.55 });
    semantic++;
  }
  return out;
}

/** Lower case, words only: two texts differing in case, punctuation or spacing normalize alike. */
export function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

function shingles(text: string): Set<string> {
  const words = normalize(text).split(' ').filter(Boolean);
  if (words.length < 3) return new Set(words);
  const out = new Set<string>();
  for (let i = 0; i + 3 <= words.length; i++) out.add(words.slice(i, i + 3).join(' '));
  return out;
}

/** Jaccard similarity of word 3-shingles (word sets for very short texts), in [0, 1]. */
export function similarity(a: string, b: string): number {
  const x = shingles(a);
  const y = shingles(b);
  if (x.size === 0 && y.size === 0) return 1;
  let both = 0;
  for (const s of x) if (y.has(s)) both++;
  return both / (x.size + y.size - both);
}

/** At or above: the same lesson said again; it reinforces the stored one instead of adding a copy. */
export const DUPLICATE_SIMILARITY = 0.8;

/** The stored memory `content` repeats, if any (the most similar above the threshold). */
export function duplicateOf<T extends { id: string; content: string }>(
  content: string,
  stored: readonly T[],
): T | null {
  let best: T | null = null;
  let bestSim = DUPLICATE_SIMILARITY;
  for (const s of stored) {
    const sim = similarity(content, s.content);
    if (sim >= bestSim) {
      best = s;
      bestSim = sim;
    }
  }
  return best;
}
