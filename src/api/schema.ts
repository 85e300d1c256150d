import { z } from 'zod';
import { PHASES, PROJECT_STATUSES, TASK_STATUSES } from '../domain/states.js';

/**
 * Every request and response shape of the REST API, declared once with zod.
 * `toJson` turns them into JSON Schema, which fastify uses to validate input
 * (ajv), to serialise output (fast-json-stringify: only declared fields leave
 * the server) and @fastify/swagger to write the OpenAPI 3.1 document. zod was
 * chosen over TypeBox because the rest of Samgita already speaks zod.
 */
export function toJson(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' });
  return simplify(rest) as Record<string, unknown>;
}

type Json = Record<string, unknown>;

/** `anyOf: [{type: X, …}, {type: 'null'}]` → `{type: [X, 'null'], …}`: simpler to read, faster to serialise. */
function simplify(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(simplify);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) out[k] = simplify(v);
  const any = out.anyOf;
  if (Array.isArray(any) && any.length === 2) {
    const [a, b] = any as Json[];
    const nullIdx = (b?.type === 'null' ? 1 : a?.type === 'null' ? 0 : -1) as number;
    const other = nullIdx === 1 ? a : nullIdx === 0 ? b : undefined;
    if (other && typeof other.type === 'string' && other.type !== 'object' && other.type !== 'array') {
      const { anyOf: _a, ...restOut } = out;
      return { ...restOut, ...other, type: [other.type, 'null'] };
    }
  }
  return out;
}

const ts = z.string().meta({ format: 'date-time' });
const tsN = ts.nullable();
const uuid = z.string().meta({ format: 'uuid' });
const json = z.unknown();
const obj = z.record(z.string(), z.unknown());

export { PHASES, PROJECT_STATUSES, TASK_STATUSES };

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().meta({ description: 'stable machine-readable code, e.g. NOT_FOUND, CONFLICT' }),
    message: z.string(),
    field: z.string().optional().meta({ description: 'the input field at fault' }),
    hint: z.string().optional(),
  }),
});

export const IdParams = z.object({ id: uuid });
export const TaskParams = z.object({ id: uuid, tid: uuid });

const pageQuery = {
  limit: z.number().int().min(1).max(500).default(50),
  cursor: z.string().max(500).optional().meta({ description: 'next_cursor of the previous page' }),
};

export function page<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    next_cursor: z.string().nullable().meta({ description: 'pass as ?cursor= to get the next page; null at the end' }),
  });
}

// ---------- projects ----------

export const Project = z.object({
  id: uuid,
  name: z.string(),
  git_url: z.string(),
  working_path: z.string().nullable(),
  default_branch: z.string().nullable(),
  source: z.string(),
  current_revision_id: uuid.nullable(),
  phase: z.enum(PHASES),
  status: z.enum(PROJECT_STATUSES),
  status_reason: z.string().nullable(),
  config: obj,
  input_tokens: z.number(),
  output_tokens: z.number(),
  cache_read_tokens: z.number(),
  cache_write_tokens: z.number(),
  cost_usd: z.number(),
  inserted_at: ts,
  updated_at: ts,
});

export const ProviderWait = z
  .object({
    kind: z.enum(['rate_limit', 'overloaded', 'server_error']),
    until: ts,
    since: ts,
    failures: z.number(),
    message: z.string().meta({ description: 'e.g. "waiting for the provider until 14:05 (overloaded)"' }),
    reason: z.string().meta({ description: "the provider's last error" }),
  })
  .meta({ description: 'a provider outage holding every runner back (rate limit, overload, 5xx)' });

export const IntegrationVerify = z.object({
  head: z.string(),
  status: z.enum(['passed', 'failed', 'unverified']),
  commands: z.array(z.string()),
  summary: z.string(),
  at: ts,
});

export const Integration = z
  .object({
    branch: z.string().meta({ description: 'where verified task branches are merged, one at a time' }),
    head: z.string().nullable(),
    verify: IntegrationVerify.nullable().meta({
      description: 'the last whole-product verify, when it judged the current head',
    }),
    queue: z
      .array(
        z.object({
          task_id: uuid,
          key: z.string(),
          state: z.enum(['waiting', 'merging', 'sent_back']),
          note: z.string().nullable().meta({ description: 'why it was sent back (conflicting files, failing output)' }),
          since: ts,
        }),
      )
      .meta({ description: 'the merge queue: tasks waiting, merging, or sent back to their agent' }),
  })
  .meta({ description: "the project's integration branch: where the product is" });

export const ProjectDetail = Project.extend({
  prd_content: z.string().nullable(),
  clone: z
    .object({
      state: z.enum(['cloning', 'failed']),
      error: z.string().nullable().meta({ description: 'why the clone failed (credentials removed)' }),
    })
    .nullable()
    .meta({
      description:
        'the repository being cloned by the server (a create answered 202), or why that failed; null once working_path is set or when no clone was needed',
    }),
  provider_wait: ProviderWait.nullable(),
  integration: Integration.nullable(),
  tokens_total: z.number(),
  task_counts: z.record(z.string(), z.number()).meta({ description: 'number of tasks by status' }),
  tasks_total: z.number(),
});

export const ProjectListQuery = z.object({ ...pageQuery, status: z.enum(PROJECT_STATUSES).optional() });

/** A project name: also the default clone directory, so no `.`/`..`, path separators, NUL or leading `-`/`.`. */
const ProjectName = z
  .string()
  .min(1)
  .max(100)
  .regex(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    /^[^-./\\\u0000-\u001f][^/\\\u0000-\u001f]*$/,
    'must not start with "-" or ".", nor contain "/", "\\" or control characters',
  )
  .meta({ description: 'at most 100 characters; not starting with "-" or ".", no "/", "\\" or control characters' });

export const ProjectCreate = z.object({
  name: ProjectName,
  git_url: z.string().min(1).max(2000),
  working_path: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'local clone to use; else one is searched for under the search roots, else cloned' }),
  prd: z.string().min(1).optional().meta({ description: 'PRD.md text; stored as the first revision' }),
  config: obj.optional(),
  clone: z.boolean().default(true).meta({ description: 'clone the repository when no local clone is found' }),
});

export const ProjectUpdate = z.object({
  name: z.string().min(1).max(200).optional(),
  config: obj.optional(),
  working_path: z.string().min(1).nullable().optional(),
});

export const ProjectClone = z.object({
  name: ProjectName,
  git_url: z.string().min(1).max(2000),
  working_path: z.string().min(1).optional(),
  clone: z.boolean().default(false),
});

export const ProjectImport = z.object({
  working_path: z
    .string()
    .min(1)
    .max(4096)
    .optional()
    .describe('a clone of the repository on the server, under the project roots, holding refs/samgita/state'),
  git_url: z
    .string()
    .min(1)
    .max(2000)
    .optional()
    .describe('or: the repository to clone and import (checked as for create)'),
  name: ProjectName.optional().describe('with git_url: the project name and the directory it is cloned into'),
  take_over: z
    .boolean()
    .default(false)
    .describe('import even though the state says another deployment holds the project (that one stops it)'),
});

export const LifecycleBody = z.object({ reason: z.string().max(2000).optional() });

export const PrdJson = z.object({ content: z.string().min(1) });

export const PrdRevision = z.object({
  id: uuid,
  project_id: uuid,
  commit_sha: z.string().nullable(),
  content_hash: z.string(),
  source: z.string(),
  inserted_at: ts,
  created: z.boolean().meta({ description: 'false when this exact PRD was already the latest revision' }),
});

// ---------- tasks ----------

export const Task = z.object({
  id: uuid,
  project_id: uuid,
  parent_task_id: uuid.nullable(),
  requirement_id: uuid.nullable(),
  key: z.string(),
  title: z.string(),
  type: z.string(),
  phase: z.string(),
  agent_type: z.string(),
  priority: z.number().int(),
  status: z.enum(TASK_STATUSES),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  rarv_step: z.string().nullable(),
  branch: z.string().nullable(),
  pr_number: z.number().int().nullable(),
  pr_url: z.string().nullable(),
  tokens_used: z.number(),
  cost_usd: z.number(),
  queued_at: tsN,
  started_at: tsN,
  completed_at: tsN,
  duration_ms: z.number().nullable(),
  inserted_at: ts,
  updated_at: ts,
  merge_state: z.enum(['waiting', 'merging', 'merged', 'sent_back']).nullable(),
  merge_note: z.string().nullable(),
  integrated_sha: z.string().nullable().meta({ description: 'the integration commit that brought the task in' }),
});

export const TaskListQuery = z.object({
  ...pageQuery,
  status: z.enum(TASK_STATUSES).optional(),
  phase: z.enum(PHASES).optional(),
  agent_type: z.string().min(1).max(100).optional(),
});

export const RarvStep = z.object({
  id: z.number(),
  agent_run_id: uuid,
  loop: z.number().int(),
  step: z.string(),
  status: z.string(),
  input: json,
  output: json,
  input_tokens: z.number(),
  output_tokens: z.number(),
  cost_usd: z.number(),
  started_at: ts,
  ended_at: tsN,
});

export const AgentRun = z.object({
  id: uuid,
  project_id: uuid,
  current_task_id: uuid.nullable(),
  runner_id: uuid.nullable(),
  agent_type: z.string(),
  node: z.string(),
  pid: z.string().nullable(),
  model: z.string().nullable(),
  attempt: z.number().int(),
  status: z.string(),
  session_id: z.string().nullable(),
  total_tasks: z.number().int(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  total_tokens: z.number(),
  cost_usd: z.number(),
  total_duration_ms: z.number(),
  error: json,
  started_at: ts,
  ended_at: tsN,
});

export const TaskDetail = Task.extend({
  description: z.string(),
  payload: json,
  result: json,
  error: json,
  head_sha: z.string().nullable(),
  session_id: z.string().nullable(),
  rarv_loop: z.number().int(),
  dependencies: z.array(z.object({ id: uuid, key: z.string(), title: z.string(), status: z.string() })),
  rarv_steps: z.array(RarvStep),
  agent_runs: z.array(AgentRun),
});

// ---------- agents, logs, artifacts ----------

export const AgentLog = z.object({ id: z.number(), stream: z.string(), line: z.string(), inserted_at: ts });

export const AgentLogQuery = z.object({
  after: z.number().int().min(0).default(0).meta({ description: 'only lines with id greater than this' }),
  limit: z.number().int().min(1).max(5000).default(1000),
  follow: z.boolean().default(false).meta({ description: 'stream over SSE (same as Accept: text/event-stream)' }),
});

export const Artifact = z.object({
  id: uuid,
  project_id: uuid,
  task_id: uuid.nullable(),
  type: z.string(),
  path: z.string(),
  content_hash: z.string(),
  metadata: obj,
  inserted_at: ts,
});
export const ArtifactDetail = Artifact.extend({ content: z.string().nullable() });
export const ArtifactListQuery = z.object({
  ...pageQuery,
  type: z.enum(['code', 'doc', 'config', 'deployment']).optional(),
  task_id: uuid.optional(),
});

// ---------- events, runners ----------

export const Event = z.object({
  id: z.number(),
  project_id: uuid.nullable(),
  kind: z.string(),
  subject_type: z.string(),
  subject_id: z.string().nullable(),
  actor_type: z.string(),
  actor_id: z.string().nullable(),
  data: obj,
  created_at: ts,
});

export const EventListQuery = z.object({
  limit: pageQuery.limit,
  cursor: pageQuery.cursor,
  project_id: uuid.optional(),
  kind: z.string().min(1).max(100).optional().meta({ description: 'exact kind, or a prefix ending in `.*`' }),
  actor_id: z.string().max(200).optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
});

export const EventStreamQuery = z.object({
  project_id: uuid.optional(),
  kind: z.string().min(1).max(100).optional(),
  after: z
    .number()
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .meta({ description: 'resume after this event id (like Last-Event-ID)' }),
});

export const Runner = z.object({
  id: uuid,
  name: z.string(),
  host: z.string(),
  pid: z.number().int(),
  capacity: z.number().int(),
  version: z.string().nullable(),
  status: z.string(),
  started_at: ts,
  heartbeat_at: ts,
  stopped_at: tsN,
  heartbeat_age_seconds: z.number(),
  sandbox: z
    .object({
      state: z.enum(['bubblewrap', 'off', 'unavailable']).meta({
        description:
          'bubblewrap: agents run sandboxed; off: --no-sandbox; unavailable: only projects with the sandbox off run',
      }),
      detail: z.string().nullable(),
    })
    .meta({ description: 'How this runner confines agents and their code' }),
});

// ---------- webhooks ----------

export const Webhook = z.object({
  id: uuid,
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().nullable(),
  active: z.boolean(),
  created_at: ts,
  updated_at: ts,
});
export const WebhookCreated = Webhook.extend({
  secret: z.string().meta({ description: 'signing secret; shown only in this response' }),
});
export const WebhookCreate = z.object({
  url: z.string().min(1).max(2000).meta({
    description:
      'http(s) URL without credentials; internal addresses (loopback, private, link-local…) are refused unless the server allows them with SAMGITA_WEBHOOK_ALLOW',
  }),
  events: z.array(z.string().min(1)).min(1).max(50),
  secret: z.string().min(16).max(200).optional(),
  description: z.string().max(500).optional(),
});
export const WebhookDelivery = z.object({
  id: uuid,
  webhook_id: uuid,
  event_id: z.number(),
  event: z.string(),
  status: z.string(),
  attempts: z.number().int(),
  response_status: z.number().int().nullable(),
  response_body: z.string().nullable().meta({
    description: 'first 256 characters of the answer, secrets redacted; null for read keys',
  }),
  error: z
    .string()
    .nullable()
    .meta({ description: 'why the attempt failed, e.g. "refused: 10.0.0.5 is a private (RFC 1918) address; …"' }),
  duration_ms: z.number().nullable(),
  inserted_at: ts,
  delivered_at: tsN,
});
export const DeliveryListQuery = z.object({
  ...pageQuery,
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
});

export const Health = z.object({ status: z.enum(['ok', 'degraded']), db: z.enum(['ok', 'down']), version: z.string() });
