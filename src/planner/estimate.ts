/**
 * What a plan (or a plan diff) would cost to run, estimated before anything
 * runs: the tasks to be worked (created, restarted, reopened) × the tokens a
 * typical task uses at its model tier × the model's published price. Pure.
 *
 * It is an order of magnitude, not a quote: a task's real use depends on the
 * repository, the verify loop and retries, and is capped at run time by
 * `budget.task.usd` / `budget.project.usd`.
 */

export type Tier = 'fast' | 'standard' | 'strong';

/** USD per million tokens. */
export interface ModelPrice {
  family: 'opus' | 'sonnet' | 'haiku';
  input: number;
  output: number;
  /** Prompt cache write (5-minute cache, what Claude Code uses). */
  cacheWrite: number;
  cacheRead: number;
}

/**
 * Anthropic's published API prices, USD per million tokens
 * (source: https://docs.claude.com/en/docs/about-claude/pricing and
 * https://www.anthropic.com/pricing#api, as of Claude Opus 4.5 / Sonnet 4.5 /
 * Haiku 4.5). The first row whose pattern matches the model id or alias
 * wins: the CLI aliases `opus`, `sonnet`, `haiku` run the current model of the
 * family; older full ids keep their own, higher or lower, price.
 */
export const MODEL_PRICES: readonly { match: RegExp; price: ModelPrice }[] = [
  // Claude Opus 4 and 4.1, Claude 3 Opus
  {
    match: /opus-4-(?:0|1|2025)|opus-4$|3-opus|opus-3/u,
    price: { family: 'opus', input: 15, output: 75, cacheWrite: 18.75, cacheRead: 1.5 },
  },
  // Claude Opus 4.5 (the `opus` alias)
  { match: /opus/u, price: { family: 'opus', input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 } },
  // Claude Sonnet 4.5, 4, 3.7 (the `sonnet` alias; prompts up to 200K tokens)
  { match: /sonnet/u, price: { family: 'sonnet', input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 } },
  // Claude Haiku 3.5 and Haiku 3
  {
    match: /3-5-haiku|haiku-3-5/u,
    price: { family: 'haiku', input: 0.8, output: 4, cacheWrite: 1, cacheRead: 0.08 },
  },
  {
    match: /3-haiku|haiku-3/u,
    price: { family: 'haiku', input: 0.25, output: 1.25, cacheWrite: 0.3, cacheRead: 0.03 },
  },
  // Claude Haiku 4.5 (the `haiku` alias)
  { match: /haiku/u, price: { family: 'haiku', input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 } },
];

/** The family a tier runs by default (samgita.yaml `models`), for models the table does not know. */
const TIER_FAMILY: Record<Tier, ModelPrice['family']> = { fast: 'haiku', standard: 'sonnet', strong: 'opus' };

export interface TokenUse {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

/**
 * Assumed tokens one task uses, by the tier of its agent type — a low and a
 * high typical case for one attempt of a Claude Code RARV loop (tens of turns:
 * the system prompt, task and repository context are written to the prompt
 * cache once and read back on every turn, so cache reads dominate). Retries,
 * escalations to a higher tier and `--analyze` are not included.
 */
export const TOKENS_PER_TASK: Record<Tier, { low: TokenUse; high: TokenUse }> = {
  fast: {
    low: { input: 20_000, output: 5_000, cacheRead: 200_000, cacheWrite: 30_000 },
    high: { input: 60_000, output: 15_000, cacheRead: 800_000, cacheWrite: 80_000 },
  },
  standard: {
    low: { input: 30_000, output: 10_000, cacheRead: 500_000, cacheWrite: 50_000 },
    high: { input: 100_000, output: 30_000, cacheRead: 2_000_000, cacheWrite: 150_000 },
  },
  strong: {
    low: { input: 40_000, output: 15_000, cacheRead: 600_000, cacheWrite: 60_000 },
    high: { input: 120_000, output: 40_000, cacheRead: 2_500_000, cacheWrite: 200_000 },
  },
};

/** One task to be worked, with the model its agent type would run (resolved from samgita.yaml). */
export interface EstimateTask {
  key: string;
  agentType: string;
  tier: Tier;
  model: string;
}

export interface ModelEstimate {
  model: string;
  family: ModelPrice['family'];
  /** False when the model id is not in MODEL_PRICES and was priced as its tier's default family. */
  priced: boolean;
  tasks: number;
  usd_low: number;
  usd_high: number;
}

export interface CostEstimate {
  tasks: number;
  usd_low: number;
  usd_high: number;
  per_model: ModelEstimate[];
  /** samgita.yaml `budget.project.usd` (null: no cap). */
  budget_usd: number | null;
  /** yes: even the high estimate fits; no: even the low one exceeds it; maybe: in between; no_cap: no budget. */
  fits: 'yes' | 'maybe' | 'no' | 'no_cap';
  assumptions: {
    tokens_per_task: typeof TOKENS_PER_TASK;
    prices_usd_per_mtok: Record<string, Omit<ModelPrice, 'family'>>;
    note: string;
  };
}

/** The price of a model id or alias; unknown ones are priced as the tier's default family. */
export function priceOf(model: string, tier: Tier): { price: ModelPrice; priced: boolean } {
  const id = model.toLowerCase();
  const row = MODEL_PRICES.find((r) => r.match.test(id));
  if (row) return { price: row.price, priced: true };
  const family = TIER_FAMILY[tier];
  return { price: MODEL_PRICES.find((r) => r.match.test(family))!.price, priced: false };
}

/** USD for `use` tokens at `price`. */
export function costOf(use: TokenUse, price: ModelPrice): number {
  return (
    (use.input * price.input +
      use.output * price.output +
      use.cacheRead * price.cacheRead +
      use.cacheWrite * price.cacheWrite) /
    1_000_000
  );
}

const round = (usd: number) => Math.round(usd * 100) / 100;

export const ESTIMATE_NOTE =
  'Typical tokens per task by model tier × published per-million-token prices; one attempt per task, no retries or escalations. An order of magnitude, not a quote: budget caps apply at run time.';

/** The estimated cost of working `tasks`, per model and in all, against the project budget. */
export function estimateCost(tasks: readonly EstimateTask[], budgetUsd: number | null): CostEstimate {
  const perModel = new Map<string, ModelEstimate>();
  for (const t of tasks) {
    const { price, priced } = priceOf(t.model, t.tier);
    const use = TOKENS_PER_TASK[t.tier];
    const m = perModel.get(t.model) ?? {
      model: t.model,
      family: price.family,
      priced,
      tasks: 0,
      usd_low: 0,
      usd_high: 0,
    };
    m.tasks += 1;
    m.usd_low += costOf(use.low, price);
    m.usd_high += costOf(use.high, price);
    perModel.set(t.model, m);
  }
  const per_model = [...perModel.values()]
    .map((m) => ({ ...m, usd_low: round(m.usd_low), usd_high: round(m.usd_high) }))
    .sort((a, b) => b.usd_high - a.usd_high || a.model.localeCompare(b.model));
  const usd_low = round(per_model.reduce((s, m) => s + m.usd_low, 0));
  const usd_high = round(per_model.reduce((s, m) => s + m.usd_high, 0));
  const fits: CostEstimate['fits'] =
    budgetUsd === null ? 'no_cap' : usd_high <= budgetUsd ? 'yes' : usd_low > budgetUsd ? 'no' : 'maybe';
  const prices: Record<string, Omit<ModelPrice, 'family'>> = {};
  for (const m of per_model) {
    const { family: _f, ...p } = priceOf(m.model, tierOfFamily(m.family)).price;
    prices[m.model] = p;
  }
  return {
    tasks: tasks.length,
    usd_low,
    usd_high,
    per_model,
    budget_usd: budgetUsd,
    fits,
    assumptions: { tokens_per_task: TOKENS_PER_TASK, prices_usd_per_mtok: prices, note: ESTIMATE_NOTE },
  };
}

function tierOfFamily(family: ModelPrice['family']): Tier {
  return family === 'haiku' ? 'fast' : family === 'opus' ? 'strong' : 'standard';
}
