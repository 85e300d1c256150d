import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BUILTIN_AGENT_TYPES,
  DEFAULT_PHASES,
  defaultConfig,
  escalateTier,
  formatDuration,
  formatSamgitaYamlIssues,
  loadSamgitaYaml,
  parseDuration,
  parseSamgitaYaml,
  resolveModel,
  type SamgitaYamlIssue,
  samgitaJsonSchema,
} from '../../src/config/samgita-yaml/index.js';
import { SamgitaError } from '../../src/errors.js';

// biome-ignore lint/suspicious/noExplicitAny: generated JSON Schema is walked structurally
type JsonNode = Record<string, any>;

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '../fixtures/samgita-yaml');

/** Parse and return the thrown SamgitaError (fails the test if nothing is thrown). */
function fail(text: string, file?: string): SamgitaError {
  try {
    parseSamgitaYaml(text, file);
  } catch (err) {
    if (err instanceof SamgitaError) return err;
    throw err;
  }
  throw new Error('expected parseSamgitaYaml to throw');
}

function issues(err: SamgitaError): SamgitaYamlIssue[] {
  return (err.details?.issues ?? []) as SamgitaYamlIssue[];
}

const tmpDirs: string[] = [];
async function repo(content?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'samgita-yaml-'));
  tmpDirs.push(dir);
  if (content !== undefined) await writeFile(join(dir, 'samgita.yaml'), content);
  return dir;
}
afterEach(async () => {
  await Promise.all(tmpDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('defaults', () => {
  const expected = {
    version: 1,
    phases: [
      'bootstrap',
      'discovery',
      'architecture',
      'infrastructure',
      'development',
      'qa',
      'deployment',
      'business',
      'growth',
    ],
    // The CLI's aliases: it resolves them to the current model of each family.
    models: { fast: 'haiku', standard: 'sonnet', strong: 'opus' },
    agents: {},
    claude: {
      permission_mode: 'acceptEdits',
      allowed_tools: ['Read', 'Write', 'Edit', 'MultiEdit', 'Glob', 'Grep', 'LS', 'Bash', 'TodoWrite'],
      max_turns: 40,
      max_retries: 2,
      extra_args: [],
    },
    limits: {
      max_concurrent_agents: 4,
      task_timeout: 30 * 60_000,
      max_attempts: 3,
      rarv_loops: 3,
      claude_timeout: 20 * 60_000,
      overload_give_up: 60 * 60_000,
    },
    budget: {
      project: { usd: 50, tokens: null },
      phase: { usd: null, tokens: null },
      task: { usd: 5, tokens: null },
    },
    verify: { install: null, build: null, lint: null, test: null, timeout: 10 * 60_000, env: [] },
    sandbox: {
      enabled: true,
      network: { agent: 'model', allow_registries: false, allowed_hosts: [], verify: 'none', install: 'registries' },
    },
    git: {
      base_branch: null,
      integration_branch: null,
      branch_prefix: 'samgita/',
      author_name: 'Samgita',
      author_email: 'samgita@users.noreply.github.com',
    },
    pull_requests: {
      enabled: true,
      draft_until_verified: true,
      merge: 'manual',
      merge_method: 'squash',
      reviewers: [],
      labels: ['samgita'],
    },
    perpetual: { enabled: false, max_tasks_per_cycle: 5 },
    routing: {},
  };

  it('defaultConfig() is the documented default', () => {
    expect(defaultConfig()).toEqual(expected);
  });

  it('defaultConfig() returns fresh objects', () => {
    const a = defaultConfig();
    a.phases.push('perpetual');
    a.claude.allowed_tools.length = 0;
    expect(defaultConfig()).toEqual(expected);
    expect(DEFAULT_PHASES).toHaveLength(9);
  });

  it.each([
    ['empty', ''],
    ['whitespace', '  \n\n'],
    ['comments only', '# nothing here yet\n# version: 1\n'],
    ['explicit null document', '~\n'],
  ])('%s text parses to all defaults', (_name, text) => {
    expect(parseSamgitaYaml(text)).toEqual(expected);
  });

  it('missing file: defaults, text null, hash empty', async () => {
    const dir = await repo();
    expect(await loadSamgitaYaml(dir)).toEqual({ config: expected, text: null, hash: '' });
  });

  it('empty file: defaults, text "", hash of ""', async () => {
    const dir = await repo('');
    const loaded = await loadSamgitaYaml(dir);
    expect(loaded.config).toEqual(expected);
    expect(loaded.text).toBe('');
    expect(loaded.hash).toBe(createHash('sha256').update('').digest('hex'));
  });

  it('a section written with nothing under it means all defaults for it', () => {
    const c = parseSamgitaYaml('limits:\nbudget:\n  project:\nagents:\n  eng-qa:\n');
    expect(c.limits).toEqual(expected.limits);
    expect(c.budget).toEqual(expected.budget);
    expect(c.agents).toEqual({ 'eng-qa': {} });
  });

  it('partial sections keep the other defaults', () => {
    const c = parseSamgitaYaml('limits:\n  max_attempts: 5\nbudget:\n  task:\n    tokens: 100000\n');
    expect(c.limits).toEqual({ ...expected.limits, max_attempts: 5 });
    expect(c.budget.task).toEqual({ usd: 5, tokens: 100000 });
    expect(c.budget.project).toEqual({ usd: 50, tokens: null });
  });
});

describe('full valid file', () => {
  it('loads the fixture with every key set', async () => {
    const text = await readFile(join(fixtures, 'full.yaml'), 'utf8');
    const dir = await repo(text);
    const { config, hash, text: raw } = await loadSamgitaYaml(dir);
    expect(raw).toBe(text);
    expect(hash).toBe(createHash('sha256').update(text).digest('hex'));
    expect(config).toEqual({
      version: 1,
      phases: ['bootstrap', 'discovery', 'architecture', 'development', 'qa', 'perpetual'],
      models: { fast: 'claude-haiku-4-5', standard: 'claude-sonnet-4-5', strong: 'claude-opus-4-1' },
      agents: {
        'eng-backend': {
          model: 'strong',
          max_concurrency: 2,
          instructions: 'Prefer small modules. Every endpoint gets an integration test.\n',
        },
        'eng-frontend': {
          model: 'claude-sonnet-4-5',
          allowed_tools: ['Read', 'Write', 'Edit', 'Glob', 'Grep', 'Bash'],
          disallowed_tools: ['WebFetch'],
          max_turns: 60,
          phases: ['development', 'qa'],
        },
        'data-migrator': {
          role: 'Writes and verifies database migrations for schema changes.',
          model: 'standard',
          phases: ['development'],
        },
      },
      claude: {
        permission_mode: 'acceptEdits',
        allowed_tools: ['Read', 'Write', 'Edit', 'MultiEdit', 'Glob', 'Grep', 'LS', 'Bash', 'TodoWrite'],
        max_turns: 50,
        max_retries: 2,
        extra_args: ['--verbose'],
      },
      limits: {
        max_concurrent_agents: 6,
        task_timeout: 90 * 60_000,
        max_attempts: 4,
        rarv_loops: 2,
        claude_timeout: 900_000,
        overload_give_up: 60 * 60_000,
      },
      budget: {
        project: { usd: 120, tokens: 20_000_000 },
        phase: { usd: 40, tokens: null },
        task: { usd: 3.5, tokens: null },
      },
      verify: {
        install: 'npm ci',
        build: 'npm run build',
        lint: 'npm run lint',
        test: 'npm test',
        timeout: 900_000,
        env: ['NPM_TOKEN'],
      },
      sandbox: {
        enabled: true,
        network: {
          agent: 'model',
          allow_registries: true,
          allowed_hosts: ['npm.corp.example'],
          verify: 'none',
          install: 'host',
        },
      },
      git: {
        base_branch: 'main',
        integration_branch: null,
        branch_prefix: 'bot/samgita-',
        author_name: 'Samgita Bot',
        author_email: 'samgita-bot@example.com',
      },
      pull_requests: {
        enabled: true,
        draft_until_verified: false,
        merge: 'auto',
        merge_method: 'rebase',
        reviewers: ['octocat', 'my-org/platform'],
        labels: ['samgita', 'ai'],
      },
      perpetual: { enabled: true, max_tasks_per_cycle: 3 },
      routing: { 'FR-6.*': 'eng-frontend' },
    });
  });

  it('reports errors against the joined path, or options.file', async () => {
    const dir = await repo('phase: [qa]\n');
    await expect(loadSamgitaYaml(dir)).rejects.toMatchObject({
      code: 'CONFIG_YAML_INVALID',
      location: { file: join(dir, 'samgita.yaml'), line: 1, column: 1 },
    });
    await expect(loadSamgitaYaml(dir, { file: 'samgita.yaml' })).rejects.toMatchObject({
      location: { file: 'samgita.yaml' },
    });
  });
});

describe('YAML syntax errors', () => {
  it('reports the yaml library position with CONFIG_YAML_SYNTAX', () => {
    const err = fail('version: 1\nphases: [bootstrap, qa\nlimits:\n  max_attempts: 3\n');
    expect(err.code).toBe('CONFIG_YAML_SYNTAX');
    expect(err.message).toMatch(/^YAML syntax error: /);
    expect(err.location).toEqual({ file: 'samgita.yaml', line: 3, column: 1 });
    expect(err.hint).toBeTruthy();
  });

  it('tab indentation', () => {
    const err = fail('limits:\n\tmax_attempts: 3\n');
    expect(err.code).toBe('CONFIG_YAML_SYNTAX');
    expect(err.location).toMatchObject({ line: 2, column: 1 });
  });

  it('duplicate keys keep the position of the repeated key', () => {
    const err = fail('version: 1\nlimits:\n  max_attempts: 3\n  max_attempts: 4\n');
    expect(err.code).toBe('CONFIG_YAML_SYNTAX');
    expect(err.message).toBe("duplicate key 'max_attempts'");
    expect(err.location).toEqual({ file: 'samgita.yaml', line: 4, column: 3 });
    expect(err.format()).toBe(
      "samgita.yaml:4:3: error CONFIG_YAML_SYNTAX: duplicate key 'max_attempts'\n" +
        '  hint: each key may appear only once in a mapping; remove or merge the repeated one',
    );
  });

  it('multiple documents', () => {
    const err = fail('version: 1\n---\nphases: [qa]\n');
    expect(err.code).toBe('CONFIG_YAML_SYNTAX');
    expect(err.message).toBe('samgita.yaml must contain a single YAML document');
    expect(err.location).toMatchObject({ line: 2, column: 1 });
  });
});

describe('validation errors', () => {
  it('top level that is not a mapping', () => {
    const err = fail('\n- bootstrap\n- qa\n');
    expect(err.code).toBe('CONFIG_YAML_INVALID');
    expect(err.message).toBe('samgita.yaml must be a mapping of keys to values at the top level, got a list');
    expect(err.location).toMatchObject({ line: 2, column: 1 });
    expect(fail('just a string\n').message).toMatch(/got string "just a string"$/);
  });

  it('unknown top-level key points at the key, with did-you-mean', () => {
    const err = fail('version: 1\nphase: [qa]\n');
    expect(err.code).toBe('CONFIG_YAML_INVALID');
    expect(err.message).toBe("unknown key 'phase' in the top level");
    expect(err.hint).toBe("did you mean 'phases'?");
    expect(err.location).toEqual({ file: 'samgita.yaml', line: 2, column: 1 });
    expect(err.format()).toBe(
      "samgita.yaml:2:1: error CONFIG_YAML_INVALID: unknown key 'phase' in the top level\n  hint: did you mean 'phases'?",
    );
  });

  it('unknown nested key: did-you-mean, or the allowed keys', () => {
    const err = fail('limits:\n  max_attempt: 3\n  frobnicate: true\n');
    const all = issues(err);
    expect(all).toEqual([
      {
        path: 'limits.max_attempt',
        message: "unknown key 'max_attempt' in limits",
        hint: "did you mean 'max_attempts'?",
        line: 2,
        column: 3,
      },
      {
        path: 'limits.frobnicate',
        message: "unknown key 'frobnicate' in limits",
        hint: 'allowed keys in limits: max_concurrent_agents, task_timeout, max_attempts, rarv_loops, claude_timeout, overload_give_up',
        line: 3,
        column: 3,
      },
    ]);
  });

  it('unknown key inside an agent entry', () => {
    const err = fail('agents:\n  eng-backend:\n    modle: strong\n');
    expect(err.message).toBe("unknown key 'modle' in agents.eng-backend");
    expect(err.hint).toBe("did you mean 'model'?");
    expect(err.location).toMatchObject({ line: 3, column: 5 });
  });

  it('wrong type names the path, the expectation and the value', () => {
    const err = fail('limits:\n  max_attempts: three\n');
    expect(err.message).toBe('limits.max_attempts must be an integer, got string "three"');
    expect(err.location).toEqual({ file: 'samgita.yaml', line: 2, column: 17 });
    expect(fail('limits:\n  max_attempts: 2.5\n').message).toBe(
      'limits.max_attempts must be an integer, got number 2.5',
    );
    expect(fail('pull_requests:\n  enabled: "yes"\n').message).toBe(
      'pull_requests.enabled must be true or false, got string "yes"',
    );
    const list = fail('claude:\n  allowed_tools: Read\n');
    expect(list.message).toBe('claude.allowed_tools must be a list of strings, got string "Read"');
    expect(list.location).toMatchObject({ line: 2, column: 18 });
    expect(fail('models: claude-opus-4-1\n').message).toBe('models must be a mapping, got string "claude-opus-4-1"');
  });

  it('nullable fields say so', () => {
    const err = fail('budget:\n  project:\n    usd: lots\n');
    expect(err.message).toBe('budget.project.usd must be a number or null, got string "lots"');
    expect(err.location).toMatchObject({ line: 3, column: 10 });
  });

  it('budgets must be greater than zero', () => {
    const err = fail('budget:\n  task: { usd: 0, tokens: -5 }\n');
    expect(issues(err).map((i) => [i.message, i.line, i.column])).toEqual([
      ['budget.task.usd must be greater than 0, got number 0', 2, 16],
      ['budget.task.tokens must be greater than 0, got number -5', 2, 27],
    ]);
  });

  it('version other than 1', () => {
    const err = fail('version: 2\n');
    expect(err.message).toBe('version must be 1, got number 2');
    expect(err.hint).toMatch(/version: 1/);
    expect(err.location).toMatchObject({ line: 1, column: 10 });
    expect(fail('version: "1"\n').message).toBe('version must be 1, got string "1"');
  });

  it('enum values get did-you-mean', () => {
    const err = fail('claude:\n  permission_mode: acceptedits\n');
    expect(err.message).toBe(
      "claude.permission_mode must be one of 'acceptEdits', 'bypassPermissions', 'default', 'plan', got string \"acceptedits\"",
    );
    expect(err.hint).toBe("did you mean 'acceptEdits'?");
    expect(err.location).toMatchObject({ line: 2, column: 20 });
  });

  it('unknown phase name points at the list item', () => {
    const err = fail('phases:\n  - bootstrap\n  - devlopment\n');
    expect(err.message).toMatch(/^phases\[1\] must be one of 'bootstrap', /);
    expect(err.hint).toBe("did you mean 'development'?");
    expect(err.location).toMatchObject({ line: 3, column: 5 });
  });

  it('phases out of canonical order', () => {
    const err = fail('phases: [bootstrap, qa, development]\n');
    expect(err.message).toBe("phase 'development' is out of order: phases always run in canonical order");
    expect(err.hint).toBe('list them in this order: [bootstrap, development, qa]');
    expect(err.location).toMatchObject({ line: 1, column: 25 });
  });

  it('duplicate phases', () => {
    const err = fail('phases: [bootstrap, qa, qa]\n');
    expect(err.message).toBe("phase 'qa' is listed more than once");
    expect(err.location).toMatchObject({ line: 1, column: 25 });
  });

  it('empty phases list', () => {
    const err = fail('phases: []\n');
    expect(err.message).toBe('phases must list at least 1 item');
    expect(err.location).toMatchObject({ line: 1, column: 9 });
  });

  it('agent phases are checked the same way', () => {
    const err = fail('agents:\n  eng-qa:\n    phases: [qa, development]\n');
    expect(issues(err)[0]).toMatchObject({ path: 'agents.eng-qa.phases[1]', line: 3, column: 18 });
  });

  it('branch_prefix must be a valid git ref component', () => {
    for (const bad of ['my branch/', 'a..b/', '-x', '/x', 'a//b', '.hidden/', 'x.lock/', 'a~b', 'a:b', 'a@{b']) {
      const err = fail(`git:\n  branch_prefix: ${JSON.stringify(bad)}\n`);
      expect(err.message, bad).toMatch(/^git\.branch_prefix is not a valid git branch prefix: it /);
      expect(err.location).toMatchObject({ line: 2, column: 18 });
    }
    for (const ok of ['', 'samgita/', 'bot/samgita-', 'ai_', 'team/ai/']) {
      expect(parseSamgitaYaml(`git:\n  branch_prefix: ${JSON.stringify(ok)}\n`).git.branch_prefix).toBe(ok);
    }
  });

  it('author_email must look like an email address', () => {
    expect(fail('git:\n  author_email: nobody\n').message).toBe('git.author_email must be an email address');
  });

  it('reports every issue, sorted by position; the error is the first one', () => {
    const text = [
      'version: 1',
      'phase: [bootstrap]',
      'limits:',
      '  max_attempts: three',
      '  task_timeout: soon',
      'agents:',
      '  eng-backnd:',
      '    model: fast',
      'pull_requests:',
      '  merge: automatic',
      '',
    ].join('\n');
    const err = fail(text);
    expect(err.message).toBe("unknown key 'phase' in the top level");
    expect(issues(err).map((i) => `${i.line}:${i.column} ${i.path} ${i.message}`)).toEqual([
      "2:1 phase unknown key 'phase' in the top level",
      '4:17 limits.max_attempts limits.max_attempts must be an integer, got string "three"',
      '5:17 limits.task_timeout limits.task_timeout must be a duration, got string "soon"',
      "7:3 agents.eng-backnd unknown agent type 'eng-backnd'",
      "10:10 pull_requests.merge pull_requests.merge must be one of 'manual', 'auto', got string \"automatic\"",
    ]);
    expect(formatSamgitaYamlIssues(err).split('\n')).toHaveLength(10);
    expect(formatSamgitaYamlIssues(err)).toContain(
      'samgita.yaml:5:17: error CONFIG_YAML_INVALID: limits.task_timeout must be a duration, got string "soon"\n  hint: ',
    );
    expect(err.toJSON()).toMatchObject({ code: 'CONFIG_YAML_INVALID', details: { issues: expect.any(Array) } });
  });

  it('uses the given file name', () => {
    const err = fail('phase: [qa]\n', 'repo/samgita.yaml');
    expect(err.format()).toMatch(/^repo\/samgita\.yaml:1:1: error CONFIG_YAML_INVALID: /);
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2h15m30s', 8_130_000],
    ['90m', 5_400_000],
    [600, 600_000],
  ])('%s → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
    const yaml = `limits:\n  task_timeout: ${typeof input === 'string' ? `'${input}'` : input}\n`;
    expect(parseSamgitaYaml(yaml).limits.task_timeout).toBe(ms);
  });

  it.each(['', '0s', '0', '30', 'm', '1.5h', '30 m', '30min', '1m1h', '-5m', 'PT30M'])('rejects %j', (input) => {
    expect(parseDuration(input)).toBeNull();
  });

  it.each([0, -5, 1.5, true])('rejects YAML value %j', (value) => {
    const err = fail(`verify:\n  timeout: ${JSON.stringify(value)}\n`);
    expect(err.message).toMatch(/^verify\.timeout must be a duration, got /);
    expect(err.hint).toContain("'1h30m'");
    expect(err.location).toMatchObject({ line: 2, column: 12 });
  });

  it('unquoted durations and the error for a bad one', () => {
    expect(parseSamgitaYaml('limits:\n  claude_timeout: 45m\n').limits.claude_timeout).toBe(2_700_000);
    const err = fail('limits:\n  claude_timeout: 45 minutes\n');
    expect(err.message).toBe('limits.claude_timeout must be a duration, got string "45 minutes"');
    expect(err.location).toMatchObject({ line: 2, column: 19 });
  });

  it('formatDuration is the inverse for whole seconds', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('agents', () => {
  it('built-in list has 37 unique types', () => {
    expect(BUILTIN_AGENT_TYPES).toHaveLength(37);
    expect(new Set(BUILTIN_AGENT_TYPES).size).toBe(37);
  });

  it('custom agent type with a role', () => {
    const c = parseSamgitaYaml('agents:\n  seo-writer:\n    role: Writes landing page copy.\n    model: fast\n');
    expect(c.agents['seo-writer']).toEqual({ role: 'Writes landing page copy.', model: 'fast' });
  });

  it('misspelled built-in: did you mean, pointing at the key', () => {
    const err = fail('version: 1\nagents:\n  eng-backnd:\n    model: strong\n');
    expect(err.message).toBe("unknown agent type 'eng-backnd'");
    expect(err.hint).toBe("did you mean 'eng-backend'? To define a custom agent type, give it a `role`.");
    expect(err.location).toEqual({ file: 'samgita.yaml', line: 3, column: 3 });
  });

  it('unrelated custom name without role', () => {
    const err = fail('agents:\n  seo-writer: {model: fast}\n');
    expect(err.message).toBe("unknown agent type 'seo-writer'");
    expect(err.hint).toMatch(/To define a custom agent type, give it a `role`\.$/);
    expect(err.hint).not.toMatch(/did you mean/);
  });

  it('keys must be lowercase kebab-case', () => {
    const err = fail('agents:\n  SEO_Writer:\n    role: x\n');
    expect(err.message).toBe("invalid agent type name 'SEO_Writer'");
    expect(err.location).toMatchObject({ line: 2, column: 3 });
  });

  it('entry field types are checked', () => {
    const err = fail('agents:\n  eng-api:\n    max_concurrency: 0\n    max_turns: many\n');
    expect(issues(err).map((i) => i.message)).toEqual([
      'agents.eng-api.max_concurrency must be at least 1, got number 0',
      'agents.eng-api.max_turns must be an integer, got string "many"',
    ]);
  });
});

describe('models', () => {
  it('resolveModel maps tiers and passes literal ids through', () => {
    const c = defaultConfig();
    expect(resolveModel(c, 'strong')).toBe('opus');
    expect(resolveModel(c, 'claude-3-5-haiku')).toBe('claude-3-5-haiku');
  });

  it('escalation goes fast → standard → strong', () => {
    expect(escalateTier('fast')).toBe('standard');
    expect(escalateTier('standard')).toBe('strong');
    expect(escalateTier('strong')).toBeNull();
  });
});

describe('JSON Schema', () => {
  const schema = samgitaJsonSchema() as JsonNode;

  it('is draft 2020-12 with descriptions and defaults', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.version).toMatchObject({ const: 1, default: 1 });
    expect(schema.properties.limits.properties.task_timeout.default).toBe('30m');
    expect(schema.properties.limits.properties.max_attempts.default).toBe(3);
    expect(schema.properties.budget.properties.project.properties.usd.default).toBe(50);
    expect(schema.properties.claude.properties.permission_mode).toMatchObject({
      default: 'acceptEdits',
      enum: ['acceptEdits', 'bypassPermissions', 'default', 'plan'],
    });
    expect(schema.properties.phases.default).toEqual([...DEFAULT_PHASES]);
    expect(schema.required ?? []).toEqual([]);
  });

  it('every property has a description', () => {
    const missing: string[] = [];
    const walk = (node: JsonNode, path: string) => {
      for (const [key, child] of Object.entries<JsonNode>(node.properties ?? {})) {
        if (path === 'agents.') continue; // built-in agent keys are $refs
        if (!child.description) missing.push(`${path}${key}`);
        walk(child, `${path}${key}.`);
      }
    };
    walk(schema, '');
    walk(schema.$defs.agent, 'agents.*.');
    expect(missing).toEqual([]);
  });

  it('offers built-in agent types and requires role on custom ones', () => {
    const agents = schema.properties.agents;
    expect(Object.keys(agents.properties)).toEqual([...BUILTIN_AGENT_TYPES]);
    expect(agents.additionalProperties.allOf[1]).toEqual({ required: ['role'] });
    expect(agents.propertyNames.pattern).toBe('^[a-z][a-z0-9-]*$');
    expect(schema.$defs.agent.additionalProperties).toBe(false);
  });

  it("matches the default config's shape", () => {
    const config = defaultConfig() as unknown as Record<string, unknown>;
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(config).sort());
    for (const [section, value] of Object.entries(config)) {
      const prop = schema.properties[section];
      if (value && typeof value === 'object' && !Array.isArray(value) && !['agents', 'routing'].includes(section)) {
        expect(Object.keys(prop.properties).sort(), section).toEqual(Object.keys(value).sort());
        expect(prop.additionalProperties, section).toBe(false);
      }
    }
  });

  it('its defaults, written back as YAML, parse to the default config', () => {
    const fromDefaults: Record<string, unknown> = {};
    const collect = (node: JsonNode): unknown => {
      if (node.type === 'object' && node.properties && node !== schema.properties.agents) {
        return Object.fromEntries(Object.entries<JsonNode>(node.properties).map(([k, v]) => [k, collect(v)]));
      }
      return node.default;
    };
    for (const [k, v] of Object.entries<JsonNode>(schema.properties)) fromDefaults[k] = collect(v);
    expect(parseSamgitaYaml(JSON.stringify(fromDefaults))).toEqual(defaultConfig());
  });
});

describe('docs/configuration.md', () => {
  it('documents every key', async () => {
    const doc = await readFile(join(here, '../../docs/configuration.md'), 'utf8');
    const schema = samgitaJsonSchema() as JsonNode;
    const keys: string[] = [];
    const walk = (node: JsonNode, path: string) => {
      for (const [key, child] of Object.entries<JsonNode>(node.properties ?? {})) {
        if (path === 'agents.') continue;
        keys.push(`${path}${key}`);
        walk(child, `${path}${key}.`);
      }
    };
    walk(schema, '');
    walk(schema.$defs.agent, 'agents.<type>.');
    const undocumented = keys.filter((k) => !doc.includes(`\`${k}\``));
    expect(undocumented).toEqual([]);
  });
});

describe('routing pins', () => {
  it('accepts requirement keys and globs mapped to agent types', () => {
    expect(parseSamgitaYaml('routing:\n  "FR-6.*": eng-frontend\n  FR-5.2: eng-perf\n').routing).toEqual({
      'FR-6.*': 'eng-frontend',
      'FR-5.2': 'eng-perf',
    });
  });

  it('points at a malformed key or agent type', () => {
    const err = (() => {
      try {
        parseSamgitaYaml('routing:\n  FR-6: Eng Frontend\n');
      } catch (e) {
        return e as SamgitaError;
      }
    })();
    expect(err?.location).toMatchObject({ line: 2, column: 9 });
    expect(err?.message).toMatch(/routing\.FR-6 must be an agent type name/);
  });
});
