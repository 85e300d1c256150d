/**
 * Parse and validate samgita.yaml text, mapping every problem back to a
 * file:line:column in the YAML source.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { SamgitaError } from '../../errors.js';
import { DURATION_HINT } from './duration.js';
import { durationSchemas, type SamgitaConfig, samgitaConfigSchema } from './schema.js';
import { closest } from './suggest.js';

export const SAMGITA_YAML_FILE = 'samgita.yaml';

/** One problem in samgita.yaml. `path` is dotted ('limits.max_attempts', 'phases[2]'); '' for the whole file. */
export interface SamgitaYamlIssue {
  path: string;
  message: string;
  line: number;
  column: number;
  hint: string;
}

type PathSegment = string | number;

// ---------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------

/**
 * Parse samgita.yaml text into a complete configuration (defaults filled in).
 * Throws SamgitaError CONFIG_YAML_SYNTAX or CONFIG_YAML_INVALID; the error's
 * message, hint and location describe the first problem in the file, and
 * `details.issues` lists all of them (SamgitaYamlIssue[]).
 */
export function parseSamgitaYaml(text: string, file = SAMGITA_YAML_FILE): SamgitaConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number | undefined) => {
    const p = lineCounter.linePos(Math.max(0, Math.min(offset ?? 0, text.length)));
    return { line: p.line, column: p.col };
  };

  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e): SamgitaYamlIssue => {
      const { message, hint } = describeYamlError(e.code, e.message, doc.contents, e.pos);
      return { path: '', message, hint, ...pos(e.pos[0]) };
    });
    throw toError('CONFIG_YAML_SYNTAX', issues, file);
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw toError(
      'CONFIG_YAML_SYNTAX',
      [{ path: '', message, hint: 'avoid deeply nested or excessive YAML aliases', line: 1, column: 1 }],
      file,
    );
  }

  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    const contents = doc.contents;
    throw toError(
      'CONFIG_YAML_INVALID',
      [
        {
          path: '',
          message: `samgita.yaml must be a mapping of keys to values at the top level, got ${describeValue(data)}`,
          hint: 'start the file with top-level keys such as `version: 1` and `phases: [...]`',
          ...pos(contents?.range?.[0]),
        },
      ],
      file,
    );
  }

  dropNullSections(data as Record<string, unknown>, samgitaConfigSchema);

  const result = samgitaConfigSchema.safeParse(data);
  if (result.success) return result.data;

  const issues: SamgitaYamlIssue[] = [];
  for (const issue of result.error.issues) {
    for (const mapped of mapIssue(issue, data)) {
      const path = mapped.path;
      issues.push({
        path: formatPath(path),
        message: mapped.message,
        hint: mapped.hint,
        ...pos(locate(doc.contents, path, mapped.atKey)),
      });
    }
  }
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  throw toError('CONFIG_YAML_INVALID', issues, file);
}

/**
 * Read `<repoDir>/samgita.yaml`. A missing or empty file gives the default
 * configuration. `hash` is the sha256 (hex) of the raw text, '' when the file is missing.
 * Errors are reported against `options.file` (default: the joined path).
 */
export async function loadSamgitaYaml(
  repoDir: string,
  options: { file?: string } = {},
): Promise<{ config: SamgitaConfig; text: string | null; hash: string }> {
  const path = join(repoDir, SAMGITA_YAML_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { config: parseSamgitaYaml(''), text: null, hash: '' };
    }
    throw err;
  }
  const hash = createHash('sha256').update(text, 'utf8').digest('hex');
  return { config: parseSamgitaYaml(text, options.file ?? path), text, hash };
}

/** All issues of a samgita.yaml error, one `file:line:col: message` block each. */
export function formatSamgitaYamlIssues(err: SamgitaError): string {
  const issues = (err.details?.issues ?? []) as SamgitaYamlIssue[];
  if (issues.length === 0) return err.format();
  const file = err.location?.file ?? SAMGITA_YAML_FILE;
  return issues
    .map((i) => {
      const head = `${file}:${i.line}:${i.column}: error ${err.code}: ${i.message}`;
      return i.hint ? `${head}\n  hint: ${i.hint}` : head;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

function toError(
  code: 'CONFIG_YAML_SYNTAX' | 'CONFIG_YAML_INVALID',
  issues: SamgitaYamlIssue[],
  file: string,
): SamgitaError {
  const first = issues[0] as SamgitaYamlIssue;
  return new SamgitaError(code, first.message, {
    hint: first.hint,
    location: { file, line: first.line, column: first.column },
    details: { issues },
  });
}

function describeYamlError(
  code: string,
  message: string,
  root: unknown,
  range: [number, number],
): { message: string; hint: string } {
  switch (code) {
    case 'DUPLICATE_KEY': {
      const key = keyAt(root, range[0]);
      return {
        message: key ? `duplicate key '${key}'` : 'duplicate key in a mapping',
        hint: 'each key may appear only once in a mapping; remove or merge the repeated one',
      };
    }
    case 'MULTIPLE_DOCS':
      return {
        message: 'samgita.yaml must contain a single YAML document',
        hint: "remove the '---' document separator and everything after it, or merge the documents",
      };
    case 'TAB_AS_INDENT':
      return { message: `YAML syntax error: ${message}`, hint: 'indent with spaces, not tabs' };
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return {
        message: `YAML syntax error: ${message}`,
        hint: 'check indentation (spaces, same depth for sibling keys), `key: value` spacing, and closing ] } or quotes',
      };
    default:
      return {
        message: `YAML syntax error: ${message}`,
        hint: 'samgita.yaml must be valid YAML; check indentation and quoting near this position',
      };
  }
}

interface MappedIssue {
  path: PathSegment[];
  message: string;
  hint: string;
  atKey: boolean;
}

function mapIssue(issue: z.core.$ZodIssue, data: unknown): MappedIssue[] {
  const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
  const where = formatPath(path);
  const layers = schemaLayersAt(samgitaConfigSchema, path);
  const input = valueAt(data, path);
  const params = (issue.code === 'custom' ? issue.params : undefined) as
    | { hint?: string; full?: boolean; at?: 'key' }
    | undefined;

  if (issue.code === 'unrecognized_keys') {
    const allowed = objectKeys(layers);
    return issue.keys.map((key) => {
      const suggestion = closest(key, allowed);
      return {
        path: [...path, key],
        message: `unknown key '${key}' ${where === '' ? 'in the top level' : `in ${where}`}`,
        hint: suggestion
          ? `did you mean '${suggestion}'?`
          : `allowed keys ${where === '' ? 'at the top level' : `in ${where}`}: ${allowed.join(', ')}`,
        atKey: true,
      };
    });
  }

  if (layers.some((l) => durationSchemas.has(l))) {
    return [
      {
        path,
        message: `${where} must be a duration, got ${describeValue(input)}`,
        hint: DURATION_HINT,
        atKey: false,
      },
    ];
  }

  if (params?.full) {
    return [{ path, message: issue.message, hint: params.hint ?? '', atKey: params.at === 'key' }];
  }

  const expected = describeExpected(layers);
  switch (issue.code) {
    case 'invalid_type':
      return [
        {
          path,
          message: `${where} must be ${expected}, got ${describeValue(input)}`,
          hint: typeHint(layers, input),
          atKey: false,
        },
      ];
    case 'invalid_value': {
      if (where === 'version') {
        return [
          {
            path,
            message: `version must be 1, got ${describeValue(input)}`,
            hint: 'this Samgita reads samgita.yaml schema version 1; set `version: 1` (or remove the key)',
            atKey: false,
          },
        ];
      }
      const values = issue.values.map(String);
      const suggestion = typeof input === 'string' ? closest(input, values) : undefined;
      return [
        {
          path,
          message: `${where} must be one of ${values.map((v) => `'${v}'`).join(', ')}, got ${describeValue(input)}`,
          hint: suggestion ? `did you mean '${suggestion}'?` : `allowed values: ${values.join(', ')}`,
          atKey: false,
        },
      ];
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      let message: string;
      if (issue.origin === 'array' || issue.origin === 'set') {
        message = `${where} must list at least ${min} item${min === 1 ? '' : 's'}`;
      } else if (issue.origin === 'string') {
        message = `${where} must not be empty`;
      } else if (issue.inclusive === false) {
        message = `${where} must be greater than ${min}, got ${describeValue(input)}`;
      } else {
        message = `${where} must be at least ${min}, got ${describeValue(input)}`;
      }
      return [{ path, message, hint: nullableHint(layers), atKey: false }];
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      return [
        { path, message: `${where} must be at most ${max}, got ${describeValue(input)}`, hint: '', atKey: false },
      ];
    }
    default:
      return [
        {
          path,
          message: `${where || 'samgita.yaml'} ${issue.message}`,
          hint: params?.hint ?? '',
          atKey: params?.at === 'key',
        },
      ];
  }
}

function typeHint(layers: z.ZodType[], input: unknown): string {
  const base = baseSchema(layers);
  const type = base?._zod.def.type;
  if ((type === 'number' || type === 'int') && typeof input === 'string' && input.trim() !== '') {
    return 'write the number without quotes, for example `3`';
  }
  if (type === 'array' && typeof input === 'string') {
    return `write a list, for example [${JSON.stringify(input)}] or one "- item" per line`;
  }
  if (type === 'boolean' && typeof input === 'string') return 'write true or false without quotes';
  if (type === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
    return 'quote the value to make it a string';
  }
  return nullableHint(layers);
}

function nullableHint(layers: z.ZodType[]): string {
  return layers.some((l) => l._zod.def.type === 'nullable') ? 'use null for none (no cap, or skip the step)' : '';
}

// ---------------------------------------------------------------------------
// Schema walking
// ---------------------------------------------------------------------------

/** The chain of wrapper schemas at `path`, outermost first, ending in the base schema. */
function schemaLayersAt(root: z.ZodType, path: PathSegment[]): z.ZodType[] {
  let layers = unwrap(root);
  for (const seg of path) {
    const base = layers[layers.length - 1];
    if (!base) return [];
    const def = base._zod.def as unknown as Record<string, unknown>;
    let next: z.ZodType | undefined;
    if (def.type === 'object') next = (def.shape as Record<string, z.ZodType>)[String(seg)];
    else if (def.type === 'record') next = def.valueType as z.ZodType;
    else if (def.type === 'array') next = def.element as z.ZodType;
    if (!next) return [];
    layers = unwrap(next);
  }
  return layers;
}

function unwrap(schema: z.ZodType): z.ZodType[] {
  const out: z.ZodType[] = [schema];
  let cur = schema;
  for (;;) {
    const def = cur._zod.def as unknown as Record<string, unknown>;
    let inner: z.ZodType | undefined;
    if (
      ['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(String(def.type))
    ) {
      inner = def.innerType as z.ZodType;
    } else if (def.type === 'pipe') {
      inner = def.in as z.ZodType;
    }
    if (!inner) return out;
    out.push(inner);
    cur = inner;
  }
}

function baseSchema(layers: z.ZodType[]): z.ZodType | undefined {
  return layers[layers.length - 1];
}

function objectKeys(layers: z.ZodType[]): string[] {
  const base = baseSchema(layers);
  if (base?._zod.def.type !== 'object') return [];
  return Object.keys((base._zod.def as unknown as { shape: Record<string, unknown> }).shape);
}

function describeExpected(layers: z.ZodType[]): string {
  const base = baseSchema(layers);
  const nullable = layers.some((l) => l._zod.def.type === 'nullable');
  let what = 'a valid value';
  if (base) {
    const def = base._zod.def as unknown as Record<string, unknown>;
    switch (def.type) {
      case 'string':
        what = 'a string';
        break;
      case 'number':
      case 'int':
        what = def.format === 'safeint' || def.format === 'int32' || def.type === 'int' ? 'an integer' : 'a number';
        break;
      case 'boolean':
        what = 'true or false';
        break;
      case 'array':
        what = `a list${describeElement(def.element as z.ZodType)}`;
        break;
      case 'object':
      case 'record':
        what = 'a mapping';
        break;
      case 'enum':
        what = `one of ${Object.values(def.entries as Record<string, string>)
          .map((v) => `'${v}'`)
          .join(', ')}`;
        break;
      case 'literal':
        what = (def.values as unknown[]).map(String).join(' or ');
        break;
    }
  }
  return nullable ? `${what} or null` : what;
}

function describeElement(element: z.ZodType): string {
  const base = baseSchema(unwrap(element));
  const t = base?._zod.def.type;
  if (t === 'string') return ' of strings';
  if (t === 'enum') return ' of names';
  return '';
}

// ---------------------------------------------------------------------------
// Data helpers
// ---------------------------------------------------------------------------

/** `limits: ` with nothing under it (null) means "all defaults", like a missing key. */
function dropNullSections(data: Record<string, unknown>, schema: z.ZodType): void {
  const base = baseSchema(unwrap(schema));
  const def = base?._zod.def as unknown as Record<string, unknown> | undefined;
  if (!def) return;
  for (const [key, value] of Object.entries(data)) {
    let child: z.ZodType | undefined;
    if (def.type === 'object') child = (def.shape as Record<string, z.ZodType>)[key];
    else if (def.type === 'record') child = def.valueType as z.ZodType;
    if (!child) continue;
    const layers = unwrap(child);
    const childBase = baseSchema(layers)?._zod.def.type;
    const nullable = layers.some((l) => l._zod.def.type === 'nullable');
    if (value === null && !nullable && (childBase === 'object' || childBase === 'record')) {
      if (def.type === 'record') data[key] = {};
      else delete data[key];
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      dropNullSections(value as Record<string, unknown>, child);
    }
  }
}

function valueAt(data: unknown, path: PathSegment[]): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg as string];
  }
  return cur;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string': {
      const s = value.length > 60 ? `${value.slice(0, 57)}...` : value;
      return `string ${JSON.stringify(s)}`;
    }
    case 'number':
      return `number ${value}`;
    case 'boolean':
      return `boolean ${value}`;
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

function formatPath(path: PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Source positions
// ---------------------------------------------------------------------------

/**
 * The source offset for `path`: the value node if it exists, or its key when
 * `atKey` is set or the value is empty; the deepest existing ancestor otherwise.
 */
function locate(root: unknown, path: PathSegment[], atKey: boolean): number {
  let node: unknown = root;
  let offset = rangeStart(root) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyString(p.key) === String(seg));
      if (!pair) return offset;
      const keyStart = rangeStart(pair.key);
      if (keyStart !== undefined) offset = keyStart;
      if (last && atKey) return offset;
      node = pair.value;
      const valueStart = rangeStart(node);
      if (valueStart !== undefined) offset = valueStart;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      const start = rangeStart(item);
      if (start === undefined) return offset;
      offset = start;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

/** The text of the mapping key that starts at `offset`, searching the whole tree. */
function keyAt(root: unknown, offset: number): string | undefined {
  let found: string | undefined;
  visit(root as Node, {
    Pair(_, pair) {
      if (rangeStart(pair.key) === offset) {
        found = keyString(pair.key);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function keyString(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}
