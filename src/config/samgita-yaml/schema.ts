/**
 * The zod schema for `samgita.yaml` (schema version 1). Every field has a default,
 * so a missing or empty file parses to a complete configuration. Objects are
 * strict: unknown keys are errors (reported with a did-you-mean hint).
 *
 * Keys are snake_case, exactly as written in YAML. Durations are written as
 * '30m' / '1h30m' / seconds and come out as milliseconds under the same key.
 */
import { z } from 'zod';
import { MODEL_TIERS, type ModelTier, PHASES, type PhaseName } from '../../domain/states.js';
import { AGENT_TYPE_KEY_PATTERN, BUILTIN_AGENT_TYPES, isBuiltinAgentType } from './agent-types.js';
import { DURATION_PATTERN_SOURCE, parseDuration } from './duration.js';
import { closest } from './suggest.js';

export const SCHEMA_VERSION = 1 as const;

export { PHASES, type PhaseName };

/** The phases run when `phases` is not given: all but `perpetual`. */
export const DEFAULT_PHASES: readonly PhaseName[] = PHASES.slice(0, 9);

export { MODEL_TIERS, type ModelTier };

export const PERMISSION_MODES = ['acceptEdits', 'bypassPermissions', 'default', 'plan'] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];

export const DEFAULT_ALLOWED_TOOLS: readonly string[] = [
  'Read',
  'Write',
  'Edit',
  'MultiEdit',
  'Glob',
  'Grep',
  'LS',
  'Bash',
  'TodoWrite',
];

// ---------------------------------------------------------------------------
// The output type, written out so that other modules get a readable type.
// A compile-time check at the bottom keeps it equal to the zod output type.
// ---------------------------------------------------------------------------

/** Per-agent-type overrides under `agents.<type>`. Absent fields fall back to global settings. */
export interface AgentConfig {
  /** A tier name (fast | standard | strong) or a literal model id. */
  model?: string | undefined;
  max_concurrency?: number | undefined;
  allowed_tools?: string[] | undefined;
  disallowed_tools?: string[] | undefined;
  instructions?: string | undefined;
  max_turns?: number | undefined;
  phases?: PhaseName[] | undefined;
  role?: string | undefined;
}

/** A cap; null means no cap. */
export interface BudgetCap {
  usd: number | null;
  tokens: number | null;
}

export interface SamgitaConfig {
  version: 1;
  phases: PhaseName[];
  models: { fast: string; standard: string; strong: string };
  agents: Record<string, AgentConfig>;
  claude: {
    permission_mode: PermissionMode;
    allowed_tools: string[];
    max_turns: number;
    max_retries: number;
    extra_args: string[];
  };
  limits: {
    max_concurrent_agents: number;
    /** milliseconds */
    task_timeout: number;
    max_attempts: number;
    rarv_loops: number;
    /** milliseconds */
    claude_timeout: number;
    /** milliseconds */
    overload_give_up: number;
  };
  budget: { project: BudgetCap; phase: BudgetCap; task: BudgetCap };
  verify: {
    install: string | null;
    build: string | null;
    lint: string | null;
    test: string | null;
    /** milliseconds */
    timeout: number;
    /** Names of runner environment variables verify commands may see. */
    env: string[];
  };
  sandbox: {
    enabled: boolean;
    network: {
      agent: 'model' | 'host';
      allow_registries: boolean;
      allowed_hosts: string[];
      verify: 'none' | 'host';
      install: 'none' | 'registries' | 'host';
    };
  };
  git: {
    base_branch: string | null;
    integration_branch: string | null;
    branch_prefix: string;
    author_name: string;
    author_email: string;
  };
  pull_requests: {
    enabled: boolean;
    draft_until_verified: boolean;
    merge: 'manual' | 'auto';
    merge_method: 'merge' | 'squash' | 'rebase';
    reviewers: string[];
    labels: string[];
  };
  perpetual: { enabled: boolean; max_tasks_per_cycle: number };
  /** Requirement key or glob → agent type (FR-2.3 pins). */
  routing: Record<string, string>;
}

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

/** Schemas that hold a duration; the error mapper gives them a duration-specific message. */
export const durationSchemas = new WeakSet<object>();

function duration(defaultValue: string) {
  const schema = z
    .union([z.string().regex(new RegExp(DURATION_PATTERN_SOURCE)), z.int().positive()])
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: 'must be a positive duration', input: value });
        return z.NEVER;
      }
      return ms;
    });
  durationSchemas.add(schema);
  const withDefault = schema.prefault(defaultValue);
  durationSchemas.add(withDefault);
  return withDefault;
}

const nonEmptyString = () => z.string().min(1);
const stringList = () => z.array(nonEmptyString());
const positiveInt = () => z.int().min(1);

/** Why `prefix` cannot start a git branch name, or null when it can. */
export function branchPrefixProblem(prefix: string): string | null {
  const ref = `${prefix}x`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: git forbids control characters in refs
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return 'contains a space or one of ~ ^ : ? * [ \\';
  if (ref.includes('..')) return "contains '..'";
  if (ref.includes('@{')) return "contains '@{'";
  if (ref.startsWith('/') || ref.startsWith('-')) return "starts with '/' or '-'";
  if (ref.includes('//')) return "contains '//'";
  if (ref.startsWith('.') || ref.includes('/.')) return "has a path component starting with '.'";
  if (ref.includes('.lock/')) return "has a path component ending with '.lock'";
  return null;
}

const phaseList = () =>
  z.array(z.enum(PHASES)).superRefine((phases, ctx) => {
    const seen = new Set<string>();
    phases.forEach((p, i) => {
      if (seen.has(p)) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `phase '${p}' is listed more than once`,
          params: { full: true, hint: 'list each phase at most once' },
        });
      }
      seen.add(p);
    });
    let lastIndex = -1;
    for (let i = 0; i < phases.length; i++) {
      const idx = PHASES.indexOf(phases[i] as PhaseName);
      if (idx < lastIndex) {
        const ordered = PHASES.filter((p) => seen.has(p));
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `phase '${phases[i]}' is out of order: phases always run in canonical order`,
          params: { full: true, hint: `list them in this order: [${ordered.join(', ')}]` },
        });
        break;
      }
      lastIndex = idx;
    }
  });

const agentSchema = z
  .object({
    model: nonEmptyString()
      .optional()
      .describe(
        'Model for this agent type: a tier name (fast, standard, strong), or a model the CLI accepts: an alias such as sonnet or a full model id such as claude-sonnet-4-5.',
      ),
    max_concurrency: positiveInt()
      .optional()
      .describe('At most this many agents of this type run at once (within limits.max_concurrent_agents).'),
    allowed_tools: stringList()
      .optional()
      .describe('Claude Code tools this agent type may use; replaces claude.allowed_tools for it.'),
    disallowed_tools: stringList().optional().describe('Claude Code tools this agent type must not use.'),
    instructions: z.string().optional().describe('Extra system-prompt text appended for this agent type.'),
    max_turns: positiveInt().optional().describe('Maximum Claude Code turns per run; replaces claude.max_turns.'),
    phases: phaseList()
      .optional()
      .describe('Restrict this agent type to these phases (default: any phase that needs it).'),
    role: nonEmptyString()
      .optional()
      .describe(
        'What this agent does, in a sentence. Required for custom (non-built-in) agent types; overrides the built-in role otherwise.',
      ),
  })
  .strict()
  .describe('Overrides for one agent type.');

const agentsSchema = z
  .record(z.string(), agentSchema)
  .superRefine((agents, ctx) => {
    for (const [key, agent] of Object.entries(agents)) {
      if (!AGENT_TYPE_KEY_PATTERN.test(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `invalid agent type name '${key}'`,
          params: {
            full: true,
            at: 'key',
            hint: "agent type names use lowercase letters, digits and '-', starting with a letter (for example 'eng-backend')",
          },
        });
        continue;
      }
      if (isBuiltinAgentType(key) || agent.role !== undefined) continue;
      const suggestion = closest(key, BUILTIN_AGENT_TYPES);
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `unknown agent type '${key}'`,
        params: {
          full: true,
          at: 'key',
          hint: suggestion
            ? `did you mean '${suggestion}'? To define a custom agent type, give it a \`role\`.`
            : `it is not one of the ${BUILTIN_AGENT_TYPES.length} built-in types (eng-*, ops-*, biz-*, data-*, prod-*, growth-*, review-*; see docs/configuration.md). To define a custom agent type, give it a \`role\`.`,
        },
      });
    }
  })
  .default(() => ({}))
  .describe(
    'Agent roster overrides keyed by agent type. Built-in types need no entry; any other key defines a custom agent type and must have a `role`.',
  );

const budgetCap = (usd: number | null, tokens: number | null, scope: string) =>
  z
    .object({
      usd: z
        .number()
        .positive()
        .nullable()
        .default(usd)
        .describe(`Spending cap in US dollars per ${scope}; null means no cap.`),
      tokens: z
        .int()
        .positive()
        .nullable()
        .default(tokens)
        .describe(`Token cap (input + output) per ${scope}; null means no cap.`),
    })
    .strict()
    .prefault({})
    .describe(`Caps per ${scope}.`);

const nullableCommand = (what: string) =>
  z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .describe(`Shell command that ${what}; run in the task worktree. null skips the step.`);

// ---------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------

export const samgitaConfigSchema = z
  .object({
    version: z.literal(SCHEMA_VERSION).default(SCHEMA_VERSION).describe('Schema version of this file. Only 1 exists.'),
    phases: phaseList()
      .min(1)
      .default(() => [...DEFAULT_PHASES])
      .describe(`Phases to run, in canonical order: ${PHASES.join(', ')}. Default: all but perpetual.`),
    models: z
      .object({
        // The Claude Code CLI's aliases, which it resolves to the current model of each family:
        // pinned ids would go stale with every model release.
        fast: nonEmptyString().default('haiku').describe('Model for the fast tier: a CLI alias or a model id.'),
        standard: nonEmptyString()
          .default('sonnet')
          .describe('Model for the standard tier: a CLI alias or a model id.'),
        strong: nonEmptyString().default('opus').describe('Model for the strong tier: a CLI alias or a model id.'),
      })
      .strict()
      .prefault({})
      .describe(
        "Model per tier, as the Claude Code CLI's --model takes it: an alias (haiku, sonnet, opus: the current model of that family) or a full model id. Failing tasks escalate fast → standard → strong.",
      ),
    agents: agentsSchema,
    claude: z
      .object({
        permission_mode: z
          .enum(PERMISSION_MODES)
          .default('acceptEdits')
          .describe('Claude Code --permission-mode for agent runs.'),
        allowed_tools: stringList()
          .default(() => [...DEFAULT_ALLOWED_TOOLS])
          .describe('Claude Code tools agents may use (--allowedTools).'),
        max_turns: positiveInt().default(40).describe('Maximum Claude Code turns per run (--max-turns).'),
        max_retries: z
          .int()
          .min(0)
          .max(10)
          .default(2)
          .describe(
            "Claude Code's own retries of a failed API call (CLAUDE_CODE_MAX_RETRIES) before Samgita's provider-wide backoff takes over.",
          ),
        extra_args: z
          .array(z.string())
          .default(() => [])
          .describe('Extra command-line arguments passed to every Claude Code invocation.'),
      })
      .strict()
      .prefault({})
      .describe('How Claude Code is invoked.'),
    limits: z
      .object({
        max_concurrent_agents: positiveInt()
          .default(4)
          .describe('At most this many agents run at once for this project.'),
        task_timeout: duration('30m').describe(
          "Wall-clock limit for one task attempt: '90s', '30m', '1h30m' or seconds. Parsed to milliseconds.",
        ),
        max_attempts: positiveInt()
          .default(3)
          .describe('Attempts per task before it is marked failed (each retry may escalate the model tier).'),
        rarv_loops: positiveInt()
          .default(3)
          .describe('Verify-fail loops inside one attempt before escalating to the next model tier.'),
        claude_timeout: duration('20m').describe(
          'Wall-clock limit for one Claude Code invocation. Parsed to milliseconds.',
        ),
        overload_give_up: duration('1h').describe(
          'How long the Claude API may stay overloaded (529) or failing (5xx) before the project pauses for a human. Runners back off provider-wide meanwhile, one probe call at a time. Parsed to milliseconds.',
        ),
      })
      .strict()
      .prefault({})
      .describe('Concurrency, timeouts and retry limits.'),
    budget: z
      .object({
        project: budgetCap(50, null, 'project'),
        phase: budgetCap(null, null, 'phase'),
        task: budgetCap(5, null, 'task'),
      })
      .strict()
      .prefault({})
      .describe('Spending caps. Work stops with BUDGET_EXCEEDED when a cap is reached.'),
    verify: z
      .object({
        install: nullableCommand('installs dependencies'),
        build: nullableCommand('builds the project'),
        lint: nullableCommand('lints the project'),
        test: nullableCommand('runs the tests'),
        timeout: duration('10m').describe('Wall-clock limit for each verify command. Parsed to milliseconds.'),
        env: stringList()
          .default(() => [])
          .describe(
            'Names of the runner’s environment variables verify commands may see; besides these they get only PATH, HOME, CI=true and the locale.',
          ),
      })
      .strict()
      .prefault({})
      .describe('Commands that verify an agent’s work before its pull request leaves draft.'),
    git: z
      .object({
        base_branch: nonEmptyString()
          .nullable()
          .default(null)
          .describe(
            "Branch the project started from (the PRD's commit); null means the repository's default branch. Tasks start from the integration branch.",
          ),
        integration_branch: nonEmptyString()
          .nullable()
          .default(null)
          .describe(
            "Branch that verified task branches are merged onto, one at a time, and re-verified (the merge queue); tasks start from its head. null: 'samgita/integration' for a local repository, the default branch (which pull requests target) for a GitHub project.",
          ),
        branch_prefix: z
          .string()
          .superRefine((prefix, ctx) => {
            const problem = branchPrefixProblem(prefix);
            if (problem) {
              ctx.addIssue({
                code: 'custom',
                message: `is not a valid git branch prefix: it ${problem}`,
                params: {
                  hint: "use letters, digits, '-', '_' and '/', for example 'samgita/' or 'bot/samgita-'",
                },
              });
            }
          })
          .default('samgita/')
          .describe('Prefix for the branches Samgita creates.'),
        author_name: nonEmptyString().default('Samgita').describe('Commit author name.'),
        author_email: z
          .string()
          .regex(/^[^\s@<>]+@[^\s@<>]+$/, 'must be an email address')
          .default('samgita@users.noreply.github.com')
          .describe('Commit author email.'),
      })
      .strict()
      .prefault({})
      .describe('Branches and commits.'),
    sandbox: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'Run the Claude Code CLI (and so its tools) and verify commands under bubblewrap (read-only system, only the worktree writable, no secrets, own PID namespace). false turns the sandbox off explicitly; where bubblewrap is missing, runs refuse to start otherwise.',
          ),
        network: z
          .object({
            agent: z
              .enum(['model', 'host'])
              .default('model')
              .describe(
                "Network of the Claude Code CLI and its tools: model (only the model API, through Samgita's proxy, which holds the credential; plus allow_registries and allowed_hosts) or host (unfiltered, and the CLI then holds its credential).",
              ),
            allow_registries: z
              .boolean()
              .default(false)
              .describe(
                'Let the agent reach the public package registries (npm, PyPI, crates.io, Go, RubyGems, Maven, NuGet).',
              ),
            allowed_hosts: z
              .array(
                z.string().regex(/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i, {
                  message: 'a host name such as npm.example.com or *.example.com (no scheme, port or path)',
                }),
              )
              .default([])
              .describe(
                'More hosts the agent (and a registries install) may reach over HTTPS, e.g. a private registry.',
              ),
            verify: z
              .enum(['none', 'host'])
              .default('none')
              .describe('Network of build, lint and test commands: none (own empty network namespace) or host.'),
            install: z
              .enum(['none', 'registries', 'host'])
              .default('registries')
              .describe(
                'Network of the install command: registries (the public package registries and allowed_hosts, through a filtering proxy), none, or host.',
              ),
          })
          .strict()
          .prefault({})
          .describe('Network of sandboxed commands.'),
      })
      .strict()
      .prefault({})
      .describe('Where what agents make run may reach.'),
    pull_requests: z
      .object({
        enabled: z.boolean().default(true).describe('Open a pull request for each task branch.'),
        draft_until_verified: z
          .boolean()
          .default(true)
          .describe('Open pull requests as drafts and mark them ready once verify passes.'),
        merge: z
          .enum(['manual', 'auto'])
          .default('manual')
          .describe('manual: humans merge. auto: Samgita merges once verify and required checks pass.'),
        merge_method: z
          .enum(['merge', 'squash', 'rebase'])
          .default('squash')
          .describe('Merge method used when merge is auto.'),
        reviewers: stringList()
          .default(() => [])
          .describe('GitHub users (or org/team) requested as reviewers.'),
        labels: stringList()
          .default(() => ['samgita'])
          .describe('Labels added to every pull request.'),
      })
      .strict()
      .prefault({})
      .describe('Pull request policy.'),
    perpetual: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('Keep finding and doing improvement work after the PRD is done (needs the perpetual phase).'),
        max_tasks_per_cycle: positiveInt().default(5).describe('At most this many new tasks per perpetual cycle.'),
      })
      .strict()
      .prefault({})
      .describe('Perpetual improvement mode.'),
    routing: z
      .record(z.string(), z.string().regex(AGENT_TYPE_KEY_PATTERN, 'must be an agent type name such as eng-frontend'))
      .superRefine((pins, ctx) => {
        for (const key of Object.keys(pins)) {
          if (!/^[A-Za-z0-9][A-Za-z0-9._/*-]*$/.test(key)) {
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message: `routing key '${key}' must be a requirement key or a glob such as FR-6.* (letters, digits, . _ / * -)`,
            });
          }
        }
      })
      .default(() => ({}))
      .describe('Pin requirements to agent types: requirement key or glob (e.g. "FR-6.*") → agent type.'),
  })
  .strict()
  .describe('Samgita project configuration (samgita.yaml), schema version 1.');

let defaults: SamgitaConfig | undefined;

/**
 * The complete configuration used when samgita.yaml is missing or empty. A fresh
 * copy each call (callers may change theirs): parsing the schema costs 3x a copy
 * (0.049 against 0.014 ms, warm), and runs at every task start.
 */
export function defaultConfig(): SamgitaConfig {
  defaults ??= samgitaConfigSchema.parse({});
  return structuredClone(defaults);
}

/** Map a tier name to its model id; any other string is returned as a literal model id. */
export function resolveModel(config: SamgitaConfig, tierOrModel: string): string {
  return (MODEL_TIERS as readonly string[]).includes(tierOrModel)
    ? config.models[tierOrModel as ModelTier]
    : tierOrModel;
}

/** The next tier up, or null from `strong`. */
export function escalateTier(tier: ModelTier): ModelTier | null {
  const i = MODEL_TIERS.indexOf(tier);
  return MODEL_TIERS[i + 1] ?? null;
}

// Compile-time check: the hand-written SamgitaConfig equals the zod output type.
type Output = z.output<typeof samgitaConfigSchema>;
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type SamgitaConfigMatchesSchema = MutuallyAssignable<SamgitaConfig, Output> extends true ? true : never;
const _matches: SamgitaConfigMatchesSchema = true;
void _matches;
