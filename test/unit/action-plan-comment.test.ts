import { describe, expect, it } from 'vitest';
import {
  cell,
  diffLines,
  errorText,
  fenceFor,
  MAX_COMMENT_CHARS,
  PLAN_MARKER,
  type PlanJson,
  type PlanJsonAction,
  renderErrorComment,
  renderPlanComment,
} from '../../action/src/plan-comment.js';
import { estimateCost } from '../../src/planner/estimate.js';

const HEAD = 'a'.repeat(40);
const BASE = 'b'.repeat(40);
const input = { headSha: HEAD, baseSha: BASE, repoRoot: '/w/repo', changedFiles: ['PRD.md'] };

function planJson(actions: PlanJsonAction[], estimateTasks = 1): PlanJson {
  const n = (t: string) => actions.filter((a) => a.type === t).length;
  const summary = {
    create: n('create'),
    update: n('update'),
    restart: n('restart'),
    reopen: n('reopen'),
    cancel: n('cancel'),
  };
  return {
    commit: HEAD,
    against: BASE,
    project: null,
    phases: ['development', 'qa'],
    warnings: [],
    requirements: { added: ['FR-4'], changed: ['FR-1'], removed: ['FR-3'] },
    actions,
    summary,
    summaryText: `Plan: ${summary.create} to add, ${summary.update + summary.restart + summary.reopen} to change, ${summary.cancel} to cancel.`,
    estimate: estimateCost(
      Array.from({ length: estimateTasks }, (_, i) => ({
        key: `k${i}`,
        agentType: 'eng-backend',
        tier: 'standard' as const,
        model: 'sonnet',
      })),
      50,
    ),
  };
}

const create = (key: string, title = `Implement ${key}`, phase = 'development'): PlanJsonAction => ({
  type: 'create',
  key,
  phase,
  title,
  agentType: 'eng-backend',
  model: 'sonnet',
});

describe('plan comment', () => {
  it('shows the marker, the summary, every action with its symbol, the estimate and the head', () => {
    const body = renderPlanComment(
      planJson([
        { ...create('qa/backend-test', 'Tests', 'qa'), type: 'update', changes: ['requirement'] },
        create('development/fr-4-implement', 'Implement FR-4: Rename'),
        { ...create('development/fr-2-implement'), type: 'restart', changes: ['requirement'] },
        {
          ...create('development/fr-1-implement'),
          type: 'reopen',
          changes: ['requirement'],
          previousStatus: 'completed',
        },
        {
          type: 'cancel',
          key: 'development/fr-3-implement',
          phase: 'development',
          title: 'Implement FR-3',
          agentType: 'eng-backend',
          model: 'sonnet',
          reason: 'requirement_removed',
          previousStatus: 'pending',
        },
      ]),
      input,
    );
    expect(body.startsWith(`${PLAN_MARKER}\n`)).toBe(true);
    expect(body).toContain('**Plan: 1 to add, 3 to change, 1 to cancel.**');
    expect(body).toContain('Requirements: 1 added (FR-4), 1 changed (FR-1), 1 removed (FR-3).');
    // Phases in execution order, development before qa although qa came first.
    expect(body.indexOf('@@ development (4) @@')).toBeLessThan(body.indexOf('@@ qa (1) @@'));
    expect(body).toMatch(/^\+ {3}development\/fr-4-implement {2}eng-backend \(sonnet\) {2}Implement FR-4: Rename$/mu);
    expect(body).toMatch(/^-\/\+ development\/fr-2-implement {2}restart \(requirement\)/mu);
    expect(body).toMatch(/^↺ {3}development\/fr-1-implement {2}reopen completed \(requirement\)/mu);
    expect(body).toMatch(
      /^- {3}development\/fr-3-implement {2}cancel pending \(requirement removed\) {2}Implement FR-3$/mu,
    );
    expect(body).toMatch(/^~ {3}qa\/backend-test {2}update \(requirement\)/mu);
    expect(body).toContain('#### Estimated cost');
    expect(body).toContain('✅ fits the project budget of **$50.00**');
    expect(body).toContain('<details><summary>Assumptions</summary>');
    expect(body).toContain(`Computed for ${HEAD} against the plan of the base bbbbbbb`);
  });

  it('a new project (no actions, the whole plan) shows every task as an addition', () => {
    const p = planJson([]);
    delete p.actions;
    p.tasks = [
      { key: 'development/fr-1-implement', phase: 'development', title: 'T', agentType: 'eng-api', model: 'opus' },
    ];
    expect(diffLines(p)).toEqual(['@@ development (1) @@', '+   development/fr-1-implement  eng-api (opus)  T']);
  });

  it('truncates a long plan under GitHub’s limit, with a count of what was left out', () => {
    const actions = Array.from({ length: 3000 }, (_, i) =>
      create(`development/fr-${i}-implement`, `Implement FR-${i}: ${'a long requirement title '.repeat(3)}`),
    );
    const body = renderPlanComment(planJson(actions, 3000), input);
    expect(body.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    const shown = body.split('\n').filter((l) => l.startsWith('+   ')).length;
    expect(shown).toBeGreaterThan(100);
    expect(shown).toBeLessThan(3000);
    expect(body).toContain(`… and ${3000 - shown} more actions not shown`);
    expect(body).toContain('#### Estimated cost');
    expect(body).toContain(HEAD);
    // A small limit cuts just the same way.
    const small = renderPlanComment(planJson(actions.slice(0, 50)), { ...input, limit: 6000 });
    expect(small.length).toBeLessThanOrEqual(6000);
    expect(small).toMatch(/… and \d+ more actions not shown/u);
    // Short plans are not cut.
    expect(renderPlanComment(planJson(actions.slice(0, 5)), input)).not.toContain('not shown');
  });

  it('text from the pull request cannot break out of its block or the tables', () => {
    const evil = create('development/x', 'Evil ``` title\n<img src=x> | cell');
    const body = renderPlanComment(planJson([evil]), input);
    const fence = fenceFor('Evil ``` title');
    expect(fence).toBe('````');
    expect(body).toContain('````diff\n');
    expect(body).not.toMatch(/^Evil/mu);
    expect(cell('a|b\n<c>')).toBe('a\\|b &lt;c&gt;');
  });
});

describe('error comment', () => {
  const yamlError = {
    code: 'CONFIG_YAML_INVALID',
    message: 'must be positive',
    hint: 'use a whole number ≥ 1',
    location: { file: '/w/repo/samgita.yaml', line: 3, column: 26 },
    details: {
      issues: [
        { line: 3, column: 26, message: 'limits.max_concurrent_agents: must be positive', hint: 'use 1 or more' },
        { line: 5, column: 3, message: 'unknown key "colour"', hint: '' },
      ],
    },
  };

  it('errorText: every issue as file:line:column relative to the checkout', () => {
    expect(errorText(yamlError, '/w/repo')).toBe(
      [
        'samgita.yaml:3:26: error CONFIG_YAML_INVALID: limits.max_concurrent_agents: must be positive',
        '  hint: use 1 or more',
        'samgita.yaml:5:3: error CONFIG_YAML_INVALID: unknown key "colour"',
      ].join('\n'),
    );
    expect(errorText({ code: 'PRD_MISSING', message: 'PRD.md is not in commit x' }, '/w/repo')).toBe(
      'error PRD_MISSING: PRD.md is not in commit x',
    );
  });

  it('renders the error instead of a plan, with the marker and the outcome', () => {
    const body = renderErrorComment('usage_error', yamlError, { ...input, exitCode: 2 });
    expect(body.startsWith(`${PLAN_MARKER}\n`)).toBe(true);
    expect(body).toContain('the desired state in this pull request is invalid');
    expect(body).toMatch(/^samgita\.yaml:3:26: error CONFIG_YAML_INVALID/mu);
    expect(body).toContain('Outcome: `usage_error` (exit 2)');
    const base = renderErrorComment(
      'usage_error',
      { ...yamlError, message: `at --against ${BASE.slice(0, 12)}: must be positive` },
      { ...input, exitCode: 2 },
    );
    expect(base).toContain('the desired state of the base branch is invalid');
    const unknown = renderErrorComment('failed', null, { ...input, exitCode: 1 });
    expect(unknown).toContain('the plan could not be computed');
    expect(unknown).toContain('samgita plan exited with 1');
  });
});
