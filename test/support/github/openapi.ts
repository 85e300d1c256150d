/**
 * GitHub's own OpenAPI description (@octokit/openapi) as a request router and
 * validator for the local GitHub API server: every request body and every
 * response body is checked against the schema of its operation.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const require = createRequire(import.meta.url);

interface Operation {
  operationId: string;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown; examples?: Record<string, unknown> }> }>;
}

export interface MatchedOperation {
  operationId: string;
  template: string;
  method: string;
  params: Record<string, string>;
}

interface Route {
  template: string;
  method: string;
  regex: RegExp;
  names: string[];
  literals: number;
  op: Operation;
}

type Spec = {
  paths: Record<string, Record<string, Operation>>;
  components: { examples: Record<string, { value: unknown }> };
};

let cached: OpenApi | null = null;

/** One shared instance per process: the description is 13 MB and compiling schemas is slow. */
export function githubOpenApi(): OpenApi {
  cached ??= new OpenApi();
  return cached;
}

export class OpenApi {
  readonly spec: Spec;
  private readonly routes: Route[] = [];
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor() {
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
    this.spec = JSON.parse(readFileSync(file, 'utf8')) as Spec;
    this.ajv = new Ajv({ strict: false, allErrors: false, validateFormats: true });
    const addFormats = addFormatsModule as unknown as (ajv: Ajv) => void;
    addFormats(this.ajv);
    openApiToJsonSchema(this.spec);
    this.ajv.addSchema(this.spec as object, 'gh');
    for (const [template, methods] of Object.entries(this.spec.paths)) {
      const names: string[] = [];
      const segments = template.split('/').map((seg) => {
        const m = /^\{(.+)\}$/.exec(seg);
        if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(m[1]!);
        return '([^/]+)';
      });
      // {path} in the contents API spans slashes.
      const pattern = segments.join('/');
      const source = template.endsWith('/{path}') ? pattern.replace(/\(\[\^\/\]\+\)$/, '(.+)') : pattern;
      for (const [method, op] of Object.entries(methods)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        this.routes.push({
          template,
          method: method.toUpperCase(),
          regex: new RegExp(`^${source}$`),
          names,
          literals: template.split('/').filter((s) => s && !s.startsWith('{')).length,
          op,
        });
      }
    }
    // Prefer the most specific template (/pulls/comments over /pulls/{pull_number}).
    this.routes.sort((a, b) => b.literals - a.literals);
  }

  match(method: string, pathname: string): MatchedOperation | null {
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.regex.exec(pathname);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1]!);
      });
      return { operationId: r.op.operationId, template: r.template, method, params };
    }
    return null;
  }

  private operation(m: MatchedOperation): Operation {
    return this.spec.paths[m.template]![m.method.toLowerCase()]!;
  }

  private validator(pointer: string): ValidateFunction {
    let v = this.validators.get(pointer);
    if (!v) {
      v = this.ajv.compile({ $ref: `gh#${pointer}` });
      this.validators.set(pointer, v);
    }
    return v;
  }

  private static esc(s: string): string {
    return s.replace(/~/g, '~0').replace(/\//g, '~1');
  }

  /** Problems with a request body, or [] when it matches the operation's schema. */
  validateRequest(m: MatchedOperation, body: unknown): string[] {
    const op = this.operation(m);
    const content = op.requestBody?.content;
    if (!content) return [];
    const type = content['application/json'] ? 'application/json' : Object.keys(content)[0]!;
    const pointer = `/paths/${OpenApi.esc(m.template)}/${m.method.toLowerCase()}/requestBody/content/${OpenApi.esc(type)}/schema`;
    const v = this.validator(pointer);
    return v(body ?? {})
      ? []
      : (v.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`);
  }

  /** Problems with a response body for `status`, or [] when it matches. Undocumented statuses are a problem too. */
  validateResponse(m: MatchedOperation, status: number, body: unknown): string[] {
    const op = this.operation(m);
    const res = op.responses[String(status)];
    if (!res) return [`status ${status} is not documented for ${m.operationId}`];
    if (!res.content) return body === undefined || body === null || body === '' ? [] : [];
    const type = res.content['application/json'] ? 'application/json' : Object.keys(res.content)[0]!;
    if (!res.content[type]?.schema) return [];
    const pointer = `/paths/${OpenApi.esc(m.template)}/${m.method.toLowerCase()}/responses/${status}/content/${OpenApi.esc(type)}/schema`;
    const v = this.validator(pointer);
    return v(body)
      ? []
      : (v.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`);
  }

  /** GitHub's documented example for a component (e.g. "pull-request"), deep-copied. */
  example(name: string): Record<string, unknown> {
    const ex = this.spec.components.examples[name];
    if (!ex) throw new Error(`no OpenAPI example named ${name}`);
    return structuredClone(ex.value) as Record<string, unknown>;
  }
}

/**
 * OpenAPI 3.0 `nullable` → JSON Schema: Ajv accepts `nullable` only beside
 * `type`, and an `enum` must list null itself. Rewrites in place.
 */
function openApiToJsonSchema(node: unknown): void {
  if (Array.isArray(node)) {
    for (const n of node) openApiToJsonSchema(n);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  for (const v of Object.values(o)) openApiToJsonSchema(v);
  if (o.nullable !== true) return;
  if (Array.isArray(o.enum) && !o.enum.includes(null)) o.enum.push(null);
  if (o.type === undefined) {
    const rest = { ...o };
    delete rest.nullable;
    for (const k of Object.keys(o)) delete o[k];
    o.anyOf = [rest, { type: 'null' }];
  }
}
