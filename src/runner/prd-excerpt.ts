/**
 * The part of PRD.md an agent gets besides its task: the section its
 * requirement sits in, with whatever the prompt already quotes left out, so
 * the PRD text reaches the agent once. Pure.
 */
import { parsePrd } from '../prd/parse.js';
import type { ParsedPrd, PrdSection } from '../prd/types.js';

// One PRD serves every task of a project, and the Reason step runs once per loop:
// parse the latest one once.
let parsed: { prd: string; result: ParsedPrd | null } | undefined;

function parseOnce(prd: string): ParsedPrd | null {
  if (parsed?.prd !== prd) {
    let result: ParsedPrd | null;
    try {
      result = parsePrd(prd);
    } catch {
      result = null;
    }
    parsed = { prd, result };
  }
  return parsed.result;
}

function flatten(sections: readonly PrdSection[]): PrdSection[] {
  return sections.flatMap((s) => [s, ...flatten(s.children)]);
}

/** Cuts at a line end, so no line is left half. */
function upTo(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.lastIndexOf('\n', maxChars);
  return text.slice(0, cut > 0 ? cut : maxChars);
}

/**
 * The requirement's own section of the PRD, as written (its heading down to
 * the next heading), or, for a task without a requirement (or one the PRD no
 * longer has), the PRD's opening: what the product is.
 */
export function prdExcerpt(prd: string, requirementKey: string | null, maxChars = 6000): string {
  if (!prd.trim()) return '';
  const doc = requirementKey ? parseOnce(prd) : null;
  const req = doc?.requirements.find((r) => r.key === requirementKey);
  if (doc && req) {
    const all = flatten(doc.sections);
    const at = all.findIndex((s) => s.key === req.sectionKey);
    const section = all[at];
    if (section) {
      const lines = prd.split('\n');
      const end = all[at + 1]?.line ?? lines.length + 1;
      return upTo(lines.slice(section.line - 1, end - 1).join('\n'), maxChars).trimEnd();
    }
  }
  return upTo(prd, maxChars).trimEnd();
}

/** Plain words of a markdown fragment, for comparing what two texts say. */
export function plain(text: string): string {
  return text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*`]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

const FENCE = /^\s*(```|~~~)/;
const HEADING = /^\s{0,3}#{1,6}\s/;
const TABLE_ROW = /^\s*\|.*\|\s*$/;
const TABLE_RULE = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;
const LIST_MARK = /^\s*(?:[-+*>]|\d+[.)])\s+(?:\[[ xX]\]\s+)?/;

type Block = { kind: 'heading' | 'text' | 'code' | 'table'; lines: string[] };

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  let current = null as Block | null;
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (fenced) {
      current?.lines.push(line);
      if (FENCE.test(line)) {
        fenced = false;
        current = null;
      }
      continue;
    }
    if (FENCE.test(line)) {
      current = { kind: 'code', lines: [line] };
      out.push(current);
      fenced = true;
    } else if (!line.trim()) {
      current = null;
    } else if (HEADING.test(line)) {
      out.push({ kind: 'heading', lines: [line] });
      current = null;
    } else {
      const kind = TABLE_ROW.test(line) ? 'table' : 'text';
      if (current?.kind !== kind) {
        current = { kind, lines: [] };
        out.push(current);
      }
      current.lines.push(line);
    }
  }
  return out;
}

/**
 * The excerpt without what `alreadySaid` (the task's description and
 * requirement) says: table rows whose every cell is said, lines of prose and
 * lists said word for word, code blocks said whole. What is left keeps its
 * headings and table headers; when nothing of substance is left (only
 * headings, headers and labels such as "Notes:"), the excerpt adds nothing and
 * is empty.
 */
export function withoutRepeats(excerpt: string, alreadySaid: string): string {
  const said = plain(alreadySaid);
  const isSaid = (s: string) => {
    const p = plain(s);
    return p === '' || said.includes(p);
  };
  const rowSaid = (row: string) =>
    row
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .every((cell) => isSaid(cell));
  const isLabel = (line: string) => /^[^.]{1,40}:$/.test(plain(line.replace(LIST_MARK, '')));
  const kept: string[] = [];
  let substance = false;
  for (const b of blocks(excerpt)) {
    if (b.kind === 'heading') {
      kept.push(b.lines[0] ?? '');
    } else if (b.kind === 'code') {
      // A code block is one unit (a schema, an endpoint list): kept whole unless said whole.
      const inner = b.lines.slice(1, FENCE.test(b.lines.at(-1) ?? '') && b.lines.length > 1 ? -1 : undefined);
      if (!isSaid(inner.join('\n'))) {
        kept.push(b.lines.join('\n'));
        substance = true;
      }
    } else if (b.kind === 'table') {
      const hasHeader = TABLE_RULE.test(b.lines[1] ?? '');
      const head = hasHeader ? b.lines.slice(0, 2) : [];
      const rows = (hasHeader ? b.lines.slice(2) : b.lines).filter((r) => !rowSaid(r));
      if (rows.length > 0) {
        kept.push([...head, ...rows].join('\n'));
        substance = true;
      }
    } else {
      const lines = b.lines.filter((l) => !isSaid(l.replace(LIST_MARK, '')));
      if (lines.some((l) => !isLabel(l))) {
        kept.push(lines.join('\n'));
        substance = true;
      }
    }
  }
  return substance ? kept.join('\n\n') : '';
}
