import type { Code, List, ListItem, Nodes, RootContent, Table } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { toString as mdToString } from 'mdast-util-to-string';
import { gfm } from 'micromark-extension-gfm';
import { SamgitaError } from '../errors.js';
import { contentHash, FULL_ID, findIds, headingSlug, LEADING_ID, normalizeText, slugify } from './text.js';
import type { ParsedPrd, PrdSection, Priority, Requirement, RequirementKind } from './types.js';

/**
 * Parses PRD.md into sections and requirements with a real markdown parser
 * (micromark + GFM tables), never with regexes over the raw text.
 *
 * Extraction rules, per section (a heading and the blocks up to the next heading):
 * - A table with an ID column (header "ID", or every first cell an ID like FR-1.4):
 *   one requirement per row, keyed by the ID; kind `non_functional` for NFR-*,
 *   `acceptance` for AC-*, else `functional`. A "Priority" column gives P0/P1/P2.
 * - Any other table under a heading with an ID ("NFR-1: Performance") or under a
 *   non-functional area: one requirement per row keyed "<heading id>/<first cell slug>".
 * - Tables and lists under "Acceptance criteria" / "Success criteria" / "Goals" /
 *   "Definition of done": `acceptance` items keyed "<section slug>/<item slug>".
 * - Lists under a requirements/features/scope area: one `bullet` requirement per item
 *   (an item starting with an ID is keyed by that ID).
 * - Fenced code blocks are ignored, except under "Data Model"/"Schema" headings
 *   (`data_model`) and "API"/"Endpoints" headings (`api`): one requirement per block,
 *   keyed "data-model/<section slug>" / "api/<section slug>", the section's notes appended.
 * - A section that yields none of the above but has prose or lists becomes one
 *   `section` requirement keyed by its heading slug path.
 * - Context-only sections produce no requirements (they stay in `sections` with
 *   `informational: true`): executive summary, overview, introduction, background,
 *   non-goals / out of scope, appendix, glossary, references, table of contents.
 *   Their text is still available to the planner as context.
 *
 * Only an empty (or whitespace-only) document is an error (PRD_INVALID); a document
 * with no recognisable structure yields a single `section` requirement "prd".
 */
export function parsePrd(markdown: string): ParsedPrd {
  if (markdown.trim() === '') {
    throw new SamgitaError('PRD_INVALID', 'PRD is empty', {
      hint: 'Write the product requirements in PRD.md: headings, requirement tables (ID | Requirement | Priority) or bullet lists.',
    });
  }
  const tree = fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
  const warnings: string[] = [];

  // 1. Split into sections.
  const h1s = tree.children.filter((n) => n.type === 'heading' && n.depth === 1);
  const firstHeading = tree.children.find((n) => n.type === 'heading');
  const titleNode = h1s.length === 1 && firstHeading === h1s[0] ? h1s[0] : undefined;
  const title = titleNode ? normalizeText(mdToString(titleNode)) : null;

  interface RawSection {
    section: PrdSection;
    nodes: RootContent[];
    parent: RawSection | null;
  }
  const roots: PrdSection[] = [];
  const raw: RawSection[] = [];
  const preamble: RootContent[] = [];
  const stack: RawSection[] = [];
  for (const node of tree.children) {
    if (node.type === 'heading' && node !== titleNode) {
      while (stack.length > 0 && (stack[stack.length - 1]?.section.depth ?? 0) >= node.depth) stack.pop();
      const parent = stack[stack.length - 1] ?? null;
      const headingTitle = normalizeText(mdToString(node));
      const path = [...(parent?.section.path ?? []), headingTitle];
      const key = [...(parent ? [parent.section.key] : []), headingSlug(headingTitle)].join('/');
      const idMatch = LEADING_ID.exec(headingTitle);
      const section: PrdSection = {
        key,
        title: headingTitle,
        depth: node.depth,
        id: idMatch?.[1] ?? null,
        path,
        line: node.position?.start.line ?? 1,
        text: '',
        informational: INFORMATIONAL.test(headingTitle) || (parent?.section.informational ?? false),
        children: [],
      };
      if (parent) parent.section.children.push(section);
      else roots.push(section);
      const entry: RawSection = { section, nodes: [], parent };
      raw.push(entry);
      stack.push(entry);
    } else if (node !== titleNode) {
      const current = stack[stack.length - 1];
      if (current) current.nodes.push(node);
      else preamble.push(node);
    }
  }

  // 2. Extract requirements per section.
  const requirements: Requirement[] = [];
  const add = (r: Omit<Requirement, 'contentHash' | 'refs'>): void => {
    const text = tidyText(r.text);
    const refs = findIds(text).filter((id) => id !== r.key && !r.key.startsWith(`${id}/`));
    requirements.push({ ...r, text, contentHash: contentHash(text), refs });
  };

  for (const { section, nodes, parent } of raw) {
    section.text = nodes
      .filter((n) => n.type !== 'code')
      .map((n) => blockText(n))
      .filter((t) => t !== '')
      .join('\n');
    if (section.informational) continue;
    const lineage = ancestry(section, parent, (s) => s.parent);
    const titles = lineage.map((s) => s.title);
    const isNfr = titles.some((t) => NFR_AREA.test(t)) || lineage.some((s) => s.id?.startsWith('NFR-') ?? false);
    const isAcceptance = ACCEPTANCE.test(section.title);
    const isReqArea = !isNfr && titles.some((t) => REQUIREMENT_AREA.test(t));
    const isDataModel = titles.some((t) => DATA_MODEL_AREA.test(t));
    const isApi = !isDataModel && titles.some((t) => API_AREA.test(t));
    const slug = headingSlug(section.title);
    const headingId = section.id;
    const base = { sectionPath: section.path, sectionKey: section.key };
    let structured = 0;
    const prose: string[] = [];
    const codeBlocks: Code[] = [];

    for (const node of nodes) {
      if (node.type === 'table') {
        const rows = tableRows(node);
        const header = rows[0]?.cells ?? [];
        const body = rows.slice(1).filter((r) => r.cells.some((c) => c !== ''));
        const idCol = findIdColumn(
          header,
          body.map((r) => r.cells),
        );
        const prioCol = header.findIndex((h) => /^(priority|prio|moscow)$/iu.test(h));
        if (idCol >= 0) {
          const titleCol = pickTitleColumn(header, [idCol, prioCol]);
          for (const row of body) {
            const id = FULL_ID.exec(row.cells[idCol] ?? '')?.[1];
            if (!id) {
              warnings.push(`line ${row.line}: table row without an ID in "${section.title}" ignored`);
              continue;
            }
            const rowTitle = row.cells[titleCol] ?? id;
            add({
              ...base,
              key: id,
              kind: kindForId(id, isNfr ? 'non_functional' : 'functional'),
              title: rowTitle,
              text: rowText(header, row.cells, [idCol, prioCol], titleCol),
              priority: prioCol >= 0 ? parsePriority(row.cells[prioCol] ?? '') : null,
              line: row.line,
              attributes: attributes(header, row.cells),
            });
            structured++;
          }
        } else if (headingId || isNfr || isAcceptance || isReqArea) {
          const prefix = headingId ?? (isAcceptance ? slug : section.key);
          const kind: RequirementKind = isAcceptance
            ? 'acceptance'
            : isNfr
              ? 'non_functional'
              : headingId
                ? kindForId(headingId, 'functional')
                : 'bullet';
          for (const row of body) {
            const first = row.cells[0] ?? '';
            add({
              ...base,
              key: `${prefix}/${slugify(first) || `row-${row.line}`}`,
              kind,
              title: first,
              text: rowText(header, row.cells, [], 0),
              priority: prioCol >= 0 ? parsePriority(row.cells[prioCol] ?? '') : null,
              line: row.line,
              attributes: attributes(header, row.cells),
            });
            structured++;
          }
        } else {
          prose.push(blockText(node));
        }
      } else if (node.type === 'list' && (isAcceptance || isReqArea || isNfr)) {
        for (const item of node.children) {
          const text = itemText(item);
          if (text === '') continue;
          const id = LEADING_ID.exec(text)?.[1];
          const itemTitle = leadTitle(text);
          const kind: RequirementKind = id
            ? kindForId(id, isAcceptance ? 'acceptance' : isNfr ? 'non_functional' : 'functional')
            : isAcceptance
              ? 'acceptance'
              : isNfr
                ? 'non_functional'
                : 'bullet';
          add({
            ...base,
            key:
              id ??
              `${headingId ?? (isAcceptance ? slug : section.key)}/${slugify(itemTitle) || `item-${item.position?.start.line ?? 0}`}`,
            kind,
            title: itemTitle,
            text,
            priority: parsePriority(/\b(P[0-2])\b/u.exec(text)?.[1] ?? ''),
            line: item.position?.start.line ?? section.line,
            attributes: {},
          });
          structured++;
        }
      } else if (node.type === 'code') {
        if (isDataModel || isApi) codeBlocks.push(node);
      } else {
        const t = blockText(node);
        if (t !== '') prose.push(t);
      }
    }

    if (codeBlocks.length > 0) {
      const area = isDataModel ? 'data-model' : 'api';
      codeBlocks.forEach((code, i) => {
        const suffix = codeBlocks.length > 1 ? `-${i + 1}` : '';
        add({
          ...base,
          key: `${area}/${slug}${suffix}`,
          kind: isDataModel ? 'data_model' : 'api',
          title: section.title,
          text: [code.value, ...(i === codeBlocks.length - 1 ? prose : [])].join('\n'),
          priority: null,
          line: code.position?.start.line ?? section.line,
          attributes: {},
        });
      });
      structured++;
    }

    if (structured === 0 && prose.length > 0) {
      add({
        ...base,
        key: section.key,
        kind: 'section',
        title: section.title,
        text: prose.join('\n'),
        priority: null,
        line: section.line,
        attributes: {},
      });
    }
  }

  // 3. Nothing structured at all: the whole document is one requirement.
  if (requirements.length === 0) {
    const text = [...preamble, ...raw.flatMap((r) => r.nodes)]
      .map((n) => blockText(n))
      .filter((t) => t !== '')
      .join('\n');
    const all = text !== '' ? text : raw.map((r) => r.section.title).join('\n');
    if (normalizeText(all) === '' && title === null) {
      throw new SamgitaError('PRD_INVALID', 'PRD has no usable content', {
        hint: 'Describe what to build under headings, as requirement tables or bullet lists.',
      });
    }
    add({
      key: 'prd',
      kind: 'section',
      title: title ?? 'PRD',
      text: all !== '' ? all : (title ?? ''),
      priority: null,
      sectionPath: [],
      sectionKey: '',
      line: 1,
      attributes: {},
    });
  }

  dedupeKeys(requirements, warnings);
  return { title, sections: roots, requirements, warnings };
}

const INFORMATIONAL =
  /^(executive summary|summary|overview|introduction|intro|background|context|about|table of contents|contents|toc|non[- ]goals|out of scope|appendix\b.*|glossary|references|changelog|revision history)$/iu;
const NFR_AREA = /non[- ]?functional|^nfr\b|quality attributes/iu;
const ACCEPTANCE = /acceptance|success criteria|definition of done|exit criteria|^goals$/iu;
const REQUIREMENT_AREA = /requirements|features|user stories|capabilities|^scope$|^functional/iu;
const DATA_MODEL_AREA = /data model|schema|entities|database design/iu;
const API_AREA = /\bapi\b|endpoints|\brest\b|graphql/iu;

function ancestry<T extends { section: PrdSection }>(
  section: PrdSection,
  parent: T | null,
  up: (t: T) => T | null,
): PrdSection[] {
  const out: PrdSection[] = [section];
  for (let p = parent; p; p = up(p)) out.unshift(p.section);
  return out;
}

interface Row {
  cells: string[];
  line: number;
}

function tableRows(table: Table): Row[] {
  return table.children.map((row) => ({
    cells: row.children.map((cell) => normalizeText(mdToString(cell))),
    line: row.position?.start.line ?? 1,
  }));
}

function findIdColumn(header: string[], body: string[][]): number {
  const byHeader = header.findIndex((h) => /^(id|req(uirement)?[ -]?id|#|key|ref)$/iu.test(h));
  if (byHeader >= 0) return byHeader;
  if (body.length > 0 && body.every((cells) => FULL_ID.test(cells[0] ?? ''))) return 0;
  return -1;
}

function pickTitleColumn(header: string[], exclude: number[]): number {
  const named = header.findIndex(
    (h, i) => !exclude.includes(i) && /requirement|description|title|feature|name|story|summary/iu.test(h),
  );
  if (named >= 0) return named;
  const first = header.findIndex((_, i) => !exclude.includes(i));
  return Math.max(first, 0);
}

function rowText(header: string[], cells: string[], exclude: number[], titleCol: number): string {
  const parts = [cells[titleCol] ?? ''];
  cells.forEach((c, i) => {
    if (i === titleCol || exclude.includes(i) || c === '') return;
    parts.push(`${header[i] ?? `Column ${i + 1}`}: ${c}`);
  });
  return parts.filter((p) => p !== '').join('\n');
}

function attributes(header: string[], cells: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  header.forEach((h, i) => {
    if (h !== '') out[h] = cells[i] ?? '';
  });
  return out;
}

export function parsePriority(raw: string): Priority | null {
  const v = raw.trim().toLowerCase();
  if (/^p0\b|^critical$|^must( have)?$|^high$/u.test(v)) return 'P0';
  if (/^p1\b|^should( have)?$|^medium$|^normal$/u.test(v)) return 'P1';
  if (/^p[2-9]\b|^could( have)?$|^low$|^nice to have$/u.test(v)) return 'P2';
  return null;
}

function kindForId(id: string, fallback: RequirementKind): RequirementKind {
  if (id.startsWith('NFR-')) return 'non_functional';
  if (id.startsWith('FR-')) return 'functional';
  if (id.startsWith('AC-')) return 'acceptance';
  return fallback;
}

/** Title of a list item: its bold lead ("**Distribution**: ...") or its first words. */
function leadTitle(text: string): string {
  const colon = /^([^:\n]{2,60}):\s/u.exec(text);
  if (colon?.[1]) return colon[1].replace(LEADING_ID, '').replace(/^[\s:.-]+/u, '') || colon[1];
  const firstLine = text.split('\n')[0] ?? text;
  const words = firstLine.split(/\s+/u);
  return words.length > 10 ? `${words.slice(0, 10).join(' ')}…` : firstLine;
}

function itemText(item: ListItem): string {
  const body = item.children
    .map((c) => blockText(c))
    .filter((t) => t !== '')
    .join('\n');
  if (item.checked === true) return `[x] ${body}`;
  return body;
}

/** Plain text of a block, keeping list items and table rows on their own lines. */
function blockText(node: Nodes): string {
  switch (node.type) {
    case 'list':
      return (node as List).children
        .map((item, i) => {
          const marker = (node as List).ordered ? `${((node as List).start ?? 1) + i}.` : '-';
          return `${marker} ${itemText(item)}`;
        })
        .join('\n');
    case 'table':
      return tableRows(node)
        .map((r) => r.cells.join(' | '))
        .join('\n');
    case 'code':
      return node.value;
    case 'blockquote':
      return node.children.map((c) => blockText(c)).join('\n');
    case 'html':
      return '';
    case 'thematicBreak':
      return '';
    default:
      return normalizeText(mdToString(node));
  }
}

/** Keeps line structure (useful in prompts) but trims lines, collapses spaces and drops blank lines. */
function tidyText(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/[ \t]+/gu, ' ').trimEnd())
    .filter((l) => l.trim() !== '')
    .join('\n')
    .trim();
}

function dedupeKeys(requirements: Requirement[], warnings: string[]): void {
  const seen = new Map<string, number>();
  for (const r of requirements) {
    const n = seen.get(r.key) ?? 0;
    seen.set(r.key, n + 1);
    if (n > 0) {
      const newKey = `${r.key}~${n + 1}`;
      warnings.push(`line ${r.line}: duplicate requirement key "${r.key}" renamed to "${newKey}"`);
      r.key = newKey;
    }
  }
}
