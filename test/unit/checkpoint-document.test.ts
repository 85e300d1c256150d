import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { applyBranchFacts } from '../../src/checkpoint/branch-facts.js';
import {
  diffStates,
  fileName,
  type ProjectState,
  type StateTask,
  stateFromFiles,
  stateToFiles,
} from '../../src/checkpoint/document.js';
import { decideOwnership } from '../../src/checkpoint/ownership.js';
import { redactStateFiles } from '../../src/checkpoint/redact.js';
import { pickSnapshot } from '../../src/checkpoint/restore.js';

const DEPLOY_A = '11111111-1111-4111-8111-111111111111';
const DEPLOY_B = '22222222-2222-4222-8222-222222222222';

/** A stable, valid uuid per key. */
function uuidOf(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function task(key: string, over: Partial<StateTask> = {}): StateTask {
  return {
    id: uuidOf(key),
    key,
    parent_key: null,
    requirement_key: null,
    title: `Task ${key}`,
    description: '',
    type: 'implement',
    phase: 'development',
    agent_type: 'eng-backend',
    priority: 100,
    status: 'pending',
    depends_on: [],
    payload: {},
    result: null,
    error: null,
    requirement_hash: null,
    attempts: 0,
    max_attempts: 3,
    rarv_step: null,
    rarv_loop: 0,
    checkpoint: {},
    session_id: null,
    branch: null,
    head_sha: null,
    pr_number: null,
    pr_url: null,
    merge_state: null,
    merge_note: null,
    integrated_sha: null,
    tokens: { input: 0, output: 0, cache_read: 0, cache_write: 0 },
    cost_usd: 0,
    started_at: null,
    completed_at: null,
    duration_ms: null,
    ...over,
  };
}

function state(tasks: StateTask[], over: Partial<ProjectState> = {}): ProjectState {
  return {
    written_at: '2026-12-01T08:00:00.000Z',
    owner: { deployment: DEPLOY_A, host: 'a' },
    project: {
      id: '44444444-4444-4444-8444-444444444444',
      name: 'notes',
      git_url: 'file:///tmp/notes',
      default_branch: 'main',
      source: 'local',
      github_repo: null,
      phase: 'development',
      status: 'running',
      status_reason: null,
      perpetual_cycle: 0,
      integration_branch: 'samgita/integration',
      integration_head: 'aaaa',
      integration_verify: null,
      config: { phases: ['development'] },
    },
    revision: { commit_sha: 'c0ffee', content_hash: 'h', config_hash: 'k', source: 'git', prd: '# PRD', config: {} },
    requirements: [],
    tasks,
    memories: [{ task_key: 'b', type: 'semantic', content: 'tests use vitest', importance: 0.6, inserted_at: 'x' }],
    cost: { usd: 1.5, tokens: { input: 10, output: 5, cache_read: 0, cache_write: 0 } },
    ...over,
  };
}

describe('the state document', () => {
  it('round-trips through its files: one per task and per task memories, continuity logs as Markdown', () => {
    const s = state([
      task('development/a', { status: 'completed', rarv_step: 'done' }),
      task('development/b', {
        status: 'running',
        rarv_step: 'verify',
        depends_on: ['development/a'],
        checkpoint: { continuity: ['npm test failed: 2 failing'] },
      }),
    ]);
    s.memories = [{ ...s.memories[0]!, task_key: 'development/b' }];
    const files = stateToFiles(s);
    expect(Object.keys(files).sort()).toEqual([
      'README.md',
      'continuity/development~b.md',
      'memories/development~b.json',
      'project.json',
      'requirements.json',
      'tasks/development~a.json',
      'tasks/development~b.json',
    ]);
    expect(files['continuity/development~b.md']).toContain('npm test failed: 2 failing');
    // The summary lists the tasks at work or in trouble, not every task.
    expect(files['README.md']).toMatch(/\| development\/b \| development \| running \| verify \|/);
    expect(files['README.md']).not.toMatch(/\| development\/a \|/);
    expect(stateFromFiles(files, s.written_at)).toEqual(s);
  });

  it('gives every key a file of its own', () => {
    const names = ['a/b', 'a~b', 'a_b', 'a b', '..', '_project', '.hidden'].map(fileName);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/);
    expect(fileName('development/fr-1-implement')).toBe('development~fr-1-implement');
  });

  it('writes the same files for the same state, whenever it is written (no commit for nothing)', () => {
    const a = stateToFiles(state([task('a')]));
    const b = stateToFiles({ ...state([task('a')]), written_at: '2027-01-01T00:00:00.000Z' });
    expect(b).toEqual(a);
  });

  it('names the file and the field of a malformed state, and refuses a newer format', () => {
    const files = stateToFiles(state([task('a', { depends_on: ['ghost'] })]));
    expect(() => stateFromFiles(files, 'x')).toThrow(/^tasks\/a.json: task a depends on ghost/);
    const bad = { ...stateToFiles(state([])), 'tasks/x.json': '{"key": 1}' };
    expect(() => stateFromFiles(bad, 'x')).toThrow(/^tasks\/x.json: /);
    expect(() => stateFromFiles({ ...bad, 'tasks/x.json': '{"key": ' }, 'x')).toThrow(
      /^tasks\/x.json is not valid JSON/,
    );
    const newer = stateToFiles(state([]));
    newer['project.json'] = newer['project.json']!.replace('samgita-state/1', 'samgita-state/2');
    expect(() => stateFromFiles(newer, 'x')).toThrow(/format "samgita-state\/2"; this Samgita reads samgita-state\/1/);
    const { 'requirements.json': _, ...missing } = stateToFiles(state([]));
    expect(() => stateFromFiles(missing, 'x')).toThrow(/requirements.json is missing/);
  });

  it('diffs two plans the way restore shows them', () => {
    const now = state([task('a', { status: 'completed', rarv_step: 'done', attempts: 1 }), task('c')], {});
    const then = state([task('a', { status: 'running', rarv_step: 'verify', attempts: 1 }), task('b')], {
      project: { ...now.project, phase: 'architecture' },
    });
    const d = diffStates(now, then);
    expect(d.project).toEqual([{ field: 'phase', from: 'development', to: 'architecture' }]);
    expect(d.tasks).toEqual([
      {
        kind: 'changed',
        key: 'a',
        from: { status: 'completed', step: 'done', attempts: 1 },
        to: { status: 'running', step: 'verify', attempts: 1 },
      },
      { kind: 'added', key: 'b', to: { status: 'pending', step: null, attempts: 0 } },
      { kind: 'removed', key: 'c', from: { status: 'pending', step: null, attempts: 0 } },
    ]);
  });
});

describe('ownership', () => {
  it('lets the deployment that holds the project go on, refuses another unless it takes over', () => {
    const rec = { owner: { deployment: DEPLOY_A, host: 'a' }, at: 't' };
    expect(decideOwnership(null, DEPLOY_B, false)).toEqual({ kind: 'ours' });
    expect(decideOwnership(rec, DEPLOY_A, false)).toEqual({ kind: 'ours' });
    expect(decideOwnership(rec, DEPLOY_B, false)).toEqual({ kind: 'held', by: rec.owner, since: 't' });
    expect(decideOwnership(rec, DEPLOY_B, true)).toEqual({ kind: 'taken_over', from: rec.owner });
  });
});

describe('git history newer than the state', () => {
  it('completes a task the integration branch merged since, and keeps a branch that moved on', () => {
    const a = task('a', { status: 'running', rarv_step: 'integrate', branch: 'samgita/a', head_sha: 'a1' });
    const b = task('b', { status: 'running', rarv_step: 'act', branch: 'samgita/b', head_sha: 'b1' });
    const c = task('c', { status: 'completed', rarv_step: 'done', branch: 'samgita/c', head_sha: 'c1' });
    const { state: s, changes } = applyBranchFacts(state([a, b, c]), {
      integrated: new Map([[a.id, 'm1']]),
      heads: new Map([
        ['samgita/a', 'a2'],
        ['samgita/b', 'b2'],
        ['samgita/c', 'c9'],
      ]),
      integrationHead: 'm1',
    });
    expect(changes).toEqual([
      { key: 'a', what: 'integrated_since', sha: 'm1' },
      { key: 'b', what: 'branch_moved', sha: 'b2' },
    ]);
    expect(s.tasks[0]).toMatchObject({
      status: 'completed',
      rarv_step: 'done',
      merge_state: 'merged',
      integrated_sha: 'm1',
    });
    expect(s.tasks[1]).toMatchObject({ status: 'running', rarv_step: 'act', head_sha: 'b2' });
    expect(s.tasks[2]!.head_sha).toBe('c1');
    expect(s.project.integration_head).toBe('m1');
  });
});

describe('picking a snapshot', () => {
  const log = [
    { sha: 'c3'.padEnd(40, '3'), at: '2026-12-01T10:00:00Z', subject: 'x' },
    { sha: 'c2'.padEnd(40, '2'), at: '2026-12-01T09:00:00Z', subject: 'x' },
    { sha: 'c1'.padEnd(40, '1'), at: '2026-12-01T08:00:00Z', subject: 'x' },
  ];
  it('by commit prefix, by time (the newest at or before it) and by snapshot id', () => {
    expect(pickSnapshot(log, 'c222222', null)).toBe(log[1]);
    expect(pickSnapshot(log, '2026-12-01T09:30:00Z', null)).toBe(log[1]);
    expect(pickSnapshot(log, '2026-12-01T09:00:00Z', null)).toBe(log[1]);
    expect(pickSnapshot(log, '55555555-5555-4555-8555-555555555555', log[2]!.sha)).toBe(log[2]);
  });
  it('says why when nothing matches', () => {
    expect(pickSnapshot(log, '2026-12-01T07:00:00Z', null)).toEqual({
      error: expect.stringMatching(/no state commit at or before/),
    });
    expect(pickSnapshot(log, 'yesterday-ish', null)).toEqual({ error: expect.stringMatching(/neither a snapshot id/) });
    expect(pickSnapshot(log, '55555555-5555-4555-8555-555555555555', null)).toEqual({
      error: expect.stringMatching(/wrote no state commit/),
    });
  });
});

describe('redaction', () => {
  it('replaces known secret values and credential patterns, keeping the JSON valid', async () => {
    const secret = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789';
    const files = stateToFiles(
      state([
        task('a', {
          error: { message: `verify printed ${secret}` },
          checkpoint: { continuity: ['token ghp_0123456789abcdefghijklmnopqrstuvwxyz leaked'] },
        }),
      ]),
    );
    const out = await redactStateFiles(files, { ANTHROPIC_API_KEY: secret });
    const all = Object.values(out).join('\n');
    expect(all).not.toContain(secret);
    expect(all).not.toContain('ghp_0123456789abcdefghijklmnopqrstuvwxyz');
    expect(all).toContain('[redacted:ANTHROPIC_API_KEY]');
    for (const [name, text] of Object.entries(out))
      if (name.endsWith('.json')) expect(() => JSON.parse(text)).not.toThrow();
  });
});
