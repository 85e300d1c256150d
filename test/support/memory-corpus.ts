/**
 * A project's worth of memories for recall tests and bench/memory-recall.ts:
 * one task, 5 memories planted as relevant to it, and distractors made from
 * a varied vocabulary of other topics — some sharing the task's words
 * ("webhook", "delivery", "token", "limit", "retry") without being about it.
 * Deterministic (seeded), so figures compare between runs.
 */
import type pg from 'pg';
import type { TaskForQuery } from '../../src/memory/relevance.js';
import { buildContext } from '../../src/runner/context.js';
import type { Recall } from '../../src/runner/memories.js';

export const TASK: TaskForQuery = {
  key: 'development/fr-9-3-throttle-webhooks',
  title: 'Throttle outgoing webhook deliveries per target',
  description:
    'Outgoing webhook deliveries retry without pause when a target endpoint is slow, flooding it. ' +
    'Limit deliveries per target host with a token bucket, defer throttled attempts instead of failing them, ' +
    'and show throttled attempts in the delivery log.',
  acceptanceCriteria: [
    'A target receives at most 5 deliveries per second',
    'Throttled attempts are deferred, not counted as failures',
  ],
  areas: ['src/outgoing-webhooks/deliver.ts', 'src/outgoing-webhooks/dispatch.ts'],
  requirement: {
    key: 'FR-9.3',
    title: 'Webhook delivery throttling',
    body: 'Samgita must not overload the endpoints it delivers webhooks to.',
  },
};

export const PLANTED = [
  'Outgoing webhook deliveries are sent by src/outgoing-webhooks/deliver.ts; each attempt is recorded with its status code and duration.',
  'The token bucket in src/server/rate-limit.ts can be reused for throttling per target: it takes perSecond and burst.',
  'To test webhook delivery retries run `npx vitest run test/integration/webhooks-ssrf.test.ts`; it starts a local target endpoint.',
  'src/outgoing-webhooks/dispatch.ts picks due deliveries with skip locked; a slow target must not block the dispatcher.',
  'development/fr-9-1-webhooks (backend): throttled webhook attempts were logged as failures; deferring them fixed the retry counter.',
] as const;

const TOPICS: { subjects: string[]; verbs: string[]; objects: string[]; places: string[] }[] = [
  {
    subjects: ['The GitHub App', 'The webhook receiver', 'Each GitHub delivery', 'The installation token'],
    verbs: ['verifies', 'stores', 'refreshes', 'rejects', 'logs'],
    objects: [
      'the X-Hub-Signature-256 header',
      'installation tokens for one hour',
      'duplicate delivery ids',
      'pull request events',
      'check run payloads',
    ],
    places: ['src/github/app.ts', 'src/github/deliveries.ts', 'src/github/tokens.ts', 'src/github/octokit.ts'],
  },
  {
    subjects: ['The API key store', 'Session cookies', 'The login form', 'Failed sign-ins'],
    verbs: ['hash', 'expire', 'limit', 'record', 'revoke'],
    objects: [
      'tokens with scrypt',
      'after 12 hours of idleness',
      'guesses per address',
      'keys on every api_key event',
      'the CSRF token',
    ],
    places: ['src/auth/keys.ts', 'src/auth/sessions.ts', 'src/auth/failed-auth.ts', 'src/auth/hook.ts'],
  },
  {
    subjects: ['Git worktrees', 'The checkout step', 'Spare worktrees', 'The integration branch'],
    verbs: ['are created', 'are pruned', 'reset', 'fast-forward', 'rebase'],
    objects: [
      'under SAMGITA_HOME/worktrees',
      'onto the base commit',
      'before each claim',
      'when a merge conflicts',
      'with git worktree add --detach',
    ],
    places: [
      'src/git/worktree.ts',
      'src/git/integrate.ts',
      'src/git/worktree-spares.ts',
      'src/runner/steps/checkout.ts',
    ],
  },
  {
    subjects: ['The PRD parser', 'Requirement keys', 'The planner', 'Phase gating'],
    verbs: ['reads', 'numbers', 'splits', 'orders', 'skips'],
    objects: [
      'GFM tables into requirements',
      'FR headings by section',
      'tasks by dependency depth',
      'the discovery phase when a plan exists',
      'priorities from P0 to P3',
    ],
    places: ['src/prd/parse.ts', 'src/planner/build.ts', 'src/planner/assign.ts', 'src/planner/estimate.ts'],
  },
  {
    subjects: ['The status page', 'The dashboard chart', 'The task table', 'The event stream'],
    verbs: ['renders', 'paginates', 'polls', 'filters', 'caches'],
    objects: [
      'with preact signals',
      'runs by day',
      'server-sent events',
      'by phase and agent type',
      'gzipped assets in memory',
    ],
    places: ['web/src/app.tsx', 'web/src/tasks.tsx', 'src/api/routes/events.ts', 'src/web-ui/serve.ts'],
  },
  {
    subjects: ['The sandbox', 'bubblewrap', 'The network policy', 'Verify commands'],
    verbs: ['mounts', 'denies', 'allows', 'times out', 'isolates'],
    objects: [
      'the worktree read-write',
      'egress except the model API',
      'after 10 minutes',
      'the home directory read-only',
      'secrets from the environment',
    ],
    places: ['src/sandbox/bwrap.ts', 'src/sandbox/network.ts', 'src/verify/detect.ts', 'src/runner/verify-commands.ts'],
  },
  {
    subjects: ['Prometheus metrics', 'The metrics route', 'Queue depth', 'The runner gauge'],
    verbs: ['exports', 'counts', 'samples', 'labels', 'resets'],
    objects: [
      'request rate per route',
      'jobs waiting per queue',
      'active agents by type',
      'histogram buckets for latency',
      'cost in USD per project',
    ],
    places: ['src/metrics/collect.ts', 'src/metrics/routes.ts', 'src/queue/worker.ts', 'src/runner/runner.ts'],
  },
  {
    subjects: ['The provider gate', 'Rate limit errors from the model', 'Overloaded responses', 'The backoff policy'],
    verbs: ['pauses', 'retries', 'doubles', 'escalates', 'parks'],
    objects: [
      'every runner until the reset time',
      'after 529 with jitter',
      'from 10 s to 5 minutes',
      'tasks at their checkpoint',
      'the model tier after three loops',
    ],
    places: [
      'src/domain/provider-gate.ts',
      'src/runner/backoff.ts',
      'src/runner/provider.ts',
      'src/runner/decide/provider.ts',
    ],
  },
  {
    subjects: ['Migrations', 'The embedded PostgreSQL', 'The connection pool', 'Advisory locks'],
    verbs: ['apply', 'start', 'limit', 'serialize', 'retry'],
    objects: [
      'in name order inside a transaction',
      'under SAMGITA_HOME/pg',
      'statements to 60 seconds',
      'runners migrating at once',
      'when the server restarts',
    ],
    places: [
      'src/store/connection.ts',
      'migrations/0001_init.sql',
      'src/store/liveness.ts',
      'src/runner/until-database.ts',
    ],
  },
  {
    subjects: ['The CLI', 'samgita plan', 'samgita run', 'The progress display'],
    verbs: ['prints', 'exits', 'waits for', 'redraws', 'parses'],
    objects: [
      'a table of tasks',
      'with code 2 on a bad PRD',
      'every task to settle',
      'once per second with log-update',
      'flags with commander',
    ],
    places: ['src/cli/main.ts', 'src/cli/progress.ts', 'src/cli/commands/run.ts', 'src/cli/outcome.ts'],
  },
  {
    subjects: ['The merge queue', 'Pull request bodies', 'Review feedback', 'Branch protection'],
    verbs: ['lists', 'links', 'sends back', 'requires', 'updates'],
    objects: [
      'the task and its requirement',
      'changes requested to the task',
      'status checks before merging',
      'mergeable branches every minute',
      'the verify summary',
    ],
    places: [
      'src/github/publisher.ts',
      'src/github/pr-body.ts',
      'src/github/feedback.ts',
      'src/github/keep-pulls-mergeable.ts',
    ],
  },
  {
    subjects: ['samgita.yaml', 'Agent settings', 'The model catalog', 'Permission modes'],
    verbs: ['overrides', 'selects', 'validates', 'maps', 'defaults'],
    objects: [
      'verify commands per project',
      'the model per agent type',
      'allowed tools for reviewers',
      'max turns to 40',
      'acceptEdits for developers',
    ],
    places: [
      'src/config/samgita-yaml/schema.ts',
      'src/runner/agent-settings.ts',
      'src/agents/catalog.ts',
      'src/claude/args.ts',
    ],
  },
];

// Where distractors share the task's words without being about throttling outgoing deliveries.
const SHARING = [
  'GitHub webhook deliveries are verified against the app secret before any handler runs',
  'API tokens are shown once; the store keeps only their hash and a prefix',
  'The API limits page size to 100 and returns a cursor for the next page',
  'Provider retries after a 529 wait with exponential backoff and jitter',
  'The event stream endpoint sends a heartbeat every 15 seconds so proxies keep it open',
  'Deliveries of the status page assets use gzip and immutable cache headers',
  'A slow git fetch times out after 120 seconds and the clone is retried once',
  'Target branches for pull requests come from the project default branch',
];

/** A small, seeded PRNG (mulberry32): the same corpus every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CorpusMemory {
  type: 'episodic' | 'semantic' | 'procedural';
  content: string;
  importance: number;
  ageDays: number;
  planted: boolean;
}

export function corpus(total = 1000, seed = 17): CorpusMemory[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const types = ['episodic', 'semantic', 'procedural'] as const;
  const out: CorpusMemory[] = PLANTED.map((content, i) => ({
    type: i === 2 ? 'procedural' : i === 4 ? 'episodic' : 'semantic',
    content,
    importance: 0.5,
    ageDays: 20 + i * 5,
    planted: true,
  }));
  for (let n = 0; out.length < total; n++) {
    const t = pick(TOPICS);
    const base =
      n % 10 === 0 ? pick(SHARING) : `${pick(t.subjects)} ${pick(t.verbs)} ${pick(t.objects)} (see ${pick(t.places)})`;
    // Tasks keep learning the same things in other words: a task key keeps each distinct.
    out.push({
      type: pick(types),
      content: `${base}; noted in task t-${n}.`,
      // Distractors are as important as the planted ones, or more: relevance must win.
      importance: 0.3 + rnd() * 0.6,
      ageDays: rnd() * 90,
      planted: false,
    });
  }
  return out;
}

/** Inserts the corpus into a project in one statement; with `embed`, embeddings of `model` too. */
export async function seedMemories(
  db: pg.Pool,
  projectId: string,
  memories: readonly CorpusMemory[],
  embed?: { model: string; vectors: number[][] },
): Promise<void> {
  const cols = {
    type: memories.map((m) => m.type),
    content: memories.map((m) => m.content),
    importance: memories.map((m) => m.importance),
    age: memories.map((m) => m.ageDays),
  };
  if (embed) {
    await db.query(
      `insert into memories (project_id, type, content, importance, inserted_at, embedding, embedding_model)
       select $1, t, c, i, now() - make_interval(secs => a * 86400), v::vector, $7
         from unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[]) as u(t, c, i, a, v)`,
      [
        projectId,
        cols.type,
        cols.content,
        cols.importance,
        cols.age,
        embed.vectors.map((v) => `[${v.join(',')}]`),
        embed.model,
      ],
    );
    return;
  }
  await db.query(
    `insert into memories (project_id, type, content, importance, inserted_at)
     select $1, t, c, i, now() - make_interval(secs => a * 86400)
       from unnest($2::text[], $3::text[], $4::float8[], $5::float8[]) as u(t, c, i, a)`,
    [projectId, cols.type, cols.content, cols.importance, cols.age],
  );
}

/** How many of the planted memories the prompt carries. */
export function plantedIn(prompt: string): number {
  return PLANTED.filter((p) => prompt.includes(p)).length;
}

/** The Reason step's context for TASK with what was recalled, through the real context builder and its budget. */
export function reasonContext(recall: Pick<Recall, 'memories'>) {
  return buildContext({
    projectName: 'p',
    task: {
      key: TASK.key,
      title: TASK.title,
      description: TASK.description,
      phase: 'development',
      agentType: 'backend',
      acceptanceCriteria: [...TASK.acceptanceCriteria],
      areas: [...TASK.areas],
    },
    requirement: TASK.requirement,
    prdExcerpt: '',
    continuity: [],
    memories: recall.memories.map((m) => m.content),
    repo: { branch: 'samgita/x', changedFiles: [], recentCommits: [] },
    verifyCommands: ['npm test'],
  });
}
