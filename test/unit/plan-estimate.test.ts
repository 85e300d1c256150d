import { describe, expect, it } from 'vitest';
import { parseSamgitaYaml } from '../../src/config/samgita-yaml/index.js';
import { planAgainst, recordedFromPlan, requirementChanges } from '../../src/planner/against.js';
import { reconcilePlan } from '../../src/planner/diff.js';
import { costOf, estimateCost, priceOf, TOKENS_PER_TASK } from '../../src/planner/estimate.js';
import { planPrdNow } from '../../src/planner/thread-worker.js';
import { agentSettings } from '../../src/runner/agent-settings.js';

const PRD = `# Widgets

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Create a widget with a name | P0 |
| FR-2 | List widgets by name | P1 |
| FR-3 | Delete a widget | P2 |
`;
const config = parseSamgitaYaml('phases: [development, qa]\n');

describe('estimateCost', () => {
  it('prices the aliases as the current models and full ids of older models at their own price', () => {
    expect(priceOf('sonnet', 'standard')).toEqual({
      price: { family: 'sonnet', input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
      priced: true,
    });
    expect(priceOf('opus', 'strong').price.input).toBe(5);
    expect(priceOf('claude-opus-4-1-20250805', 'strong').price.input).toBe(15);
    expect(priceOf('claude-opus-4-5-20251101', 'strong').price.input).toBe(5);
    expect(priceOf('claude-3-5-haiku-20241022', 'fast').price.input).toBe(0.8);
    expect(priceOf('claude-haiku-4-5', 'fast').price.input).toBe(1);
    // An unknown model is priced as its tier's default family, and says so.
    expect(priceOf('my-proxy-model', 'strong')).toMatchObject({ price: { family: 'opus' }, priced: false });
  });

  it('sums tokens per task × price per model, low and high, and compares with the budget', () => {
    const one = costOf(TOKENS_PER_TASK.standard.low, priceOf('sonnet', 'standard').price);
    // 30k×$3 + 10k×$15 + 500k×$0.30 + 50k×$3.75 per million
    expect(one).toBeCloseTo(0.09 + 0.15 + 0.15 + 0.1875, 10);
    const tasks = [
      { key: 'a', agentType: 'eng-backend', tier: 'standard' as const, model: 'sonnet' },
      { key: 'b', agentType: 'eng-backend', tier: 'standard' as const, model: 'sonnet' },
      { key: 'c', agentType: 'review-code', tier: 'strong' as const, model: 'opus' },
    ];
    const e = estimateCost(tasks, 50);
    expect(e.tasks).toBe(3);
    // Most expensive first: one strong task on opus outweighs two standard ones on sonnet.
    expect(e.per_model.map((m) => [m.model, m.tasks])).toEqual([
      ['opus', 1],
      ['sonnet', 2],
    ]);
    expect(e.usd_low).toBeCloseTo(
      e.per_model.reduce((s, m) => s + m.usd_low, 0),
      2,
    );
    expect(e.usd_low).toBeLessThan(e.usd_high);
    expect(e.fits).toBe('yes');
    expect(e.budget_usd).toBe(50);
    expect(Object.keys(e.assumptions.prices_usd_per_mtok).sort()).toEqual(['opus', 'sonnet']);
    expect(estimateCost(tasks, e.usd_low / 2).fits).toBe('no');
    expect(estimateCost(tasks, (e.usd_low + e.usd_high) / 2).fits).toBe('maybe');
    expect(estimateCost(tasks, null).fits).toBe('no_cap');
    expect(estimateCost([], 50)).toMatchObject({ tasks: 0, usd_low: 0, usd_high: 0, fits: 'yes', per_model: [] });
  });

  it('follows samgita.yaml: a tier mapped to another model changes the price', () => {
    const cheap = parseSamgitaYaml('models:\n  standard: haiku\n');
    const s = agentSettings(cheap, 'eng-backend');
    expect(s.model).toBe('haiku');
    const e = estimateCost([{ key: 'a', agentType: 'eng-backend', tier: s.tier, model: s.model }], 5);
    const sonnet = estimateCost([{ key: 'a', agentType: 'eng-backend', tier: 'standard', model: 'sonnet' }], 5);
    expect(e.usd_high).toBeLessThan(sonnet.usd_high);
  });
});

describe('planAgainst', () => {
  it('diffs the head plan against the base plan taken as recorded, all pending', () => {
    const base = planPrdNow(PRD, config);
    const head = planPrdNow(
      PRD.replace('Create a widget with a name', 'Create a widget with a name and a colour').replace(
        '| FR-3 | Delete a widget | P2 |',
        '| FR-4 | Rename a widget | P1 |',
      ),
      config,
    );
    const d = planAgainst({
      base: { plan: base.plan, requirements: base.parsed.requirements },
      head: { plan: head.plan, requirements: head.parsed.requirements },
    });
    expect(d.requirements).toEqual({ added: ['FR-4'], changed: ['FR-1'], removed: ['FR-3'] });
    const by = (t: string) =>
      d.actions
        .filter((a) => a.type === t)
        .map((a) => a.key)
        .sort();
    expect(by('create')).toEqual(['development/fr-4-implement']);
    expect(by('cancel')).toEqual(['development/fr-3-implement']);
    expect(by('update')).toContain('development/fr-1-implement');
    expect(by('restart')).toEqual([]);
    expect(by('reopen')).toEqual([]);
    expect(d.actions.find((a) => a.type === 'cancel')).toMatchObject({
      reason: 'requirement_removed',
      previousStatus: 'pending',
    });
  });

  it('the same desired state twice: no actions', () => {
    const p = planPrdNow(PRD, config);
    const same = { plan: p.plan, requirements: p.parsed.requirements };
    expect(planAgainst({ base: same, head: same }).actions).toEqual([]);
    expect(reconcilePlan({ desired: p.plan, recorded: recordedFromPlan(p.plan) })).toEqual([]);
  });

  it('requirementChanges: added, changed by content hash, removed', () => {
    expect(
      requirementChanges(
        [
          { key: 'A', contentHash: '1' },
          { key: 'B', contentHash: '2' },
          { key: 'C', contentHash: '3' },
        ],
        [
          { key: 'A', contentHash: '1' },
          { key: 'B', contentHash: '9' },
          { key: 'D', contentHash: '4' },
        ],
      ),
    ).toEqual({ added: ['D'], changed: ['B'], removed: ['C'] });
  });
});
