/**
 * PRD analysis by an agent (FR-2.1): asks Claude Code for a structured work
 * breakdown (`--json-schema`), validates it, and feeds a validation error back
 * for a bounded number of retries. An answer that never validates is reported
 * as PLAN_INVALID; it never turns into a silently empty plan.
 */

import type { AgentCatalog, PhaseName } from '../agents/catalog.js';
import type { ClaudeRunSpec } from '../claude/args.js';
import { type ClaudeRunResult, runClaude } from '../claude/run-claude.js';
import { errorMessage, isSamgitaError, SamgitaError } from '../errors.js';
import { enabledPhases } from '../planner/plan.js';
import { parseWorkBreakdown, workBreakdownJsonSchema } from '../planner/structured.js';
import type { PlannedTask, PlannerConfig } from '../planner/types.js';
import { parsePrd } from '../prd/parse.js';
import type { ParsedPrd } from '../prd/types.js';
import type { ClaudeWrap } from '../sandbox/claude.js';
import type { Queryable } from '../store/connection.js';
import { findAnalysis, newestBreakdown, upsertAnalysis } from '../store/plan.js';

export interface AnalyzeOptions {
  claudeBin: string;
  /** Working directory of the CLI (the repository, read-only use). */
  cwd: string;
  /** PRD.md text. */
  prd: string;
  catalog: AgentCatalog;
  config: PlannerConfig & { readonly models?: { readonly strong?: string } | undefined };
  env?: Record<string, string | undefined>;
  /** Per Claude call. */
  timeoutMs: number;
  /** Attempts in all, the first included (default 3). */
  maxAttempts?: number;
  signal?: AbortSignal;
  /** The sandbox the CLI runs in (src/sandbox/claude.ts). */
  wrap?: ClaudeWrap | undefined;
}

export interface AnalysisResult {
  tasks: PlannedTask[];
  /** The validated raw answer, kept so later re-plans can merge it again. */
  breakdown: unknown;
  attempts: number;
  costUsd: number;
}

const MAX_PRD_CHARS = 120_000;

export function analysisPrompt(prd: ParsedPrd, text: string, catalog: AgentCatalog, phases: readonly string[]): string {
  const reqs = prd.requirements
    .filter((r) => r.kind !== 'section')
    .map((r) => `- ${r.key}${r.priority ? ` (${r.priority})` : ''}: ${r.title}`)
    .join('\n');
  const types = [...catalog.values()].map((t) => `- ${t.type}: ${t.role}`).join('\n');
  return [
    'You are the planning agent of Samgita. Break the product requirements document below down into a',
    'structured work plan and answer ONLY with the structured output that follows the JSON schema you were given.',
    '',
    'Rules:',
    `- Use only these phases: ${phases.join(', ')}.`,
    '- Use only the agent types listed below, each for work that fits its role.',
    '- Reference requirements by the keys listed below in requirement_keys; every functional requirement must be covered.',
    '- Keys are "<phase>/<subject>-<work>" in lower case, e.g. "development/fr-1-4-implement"; depends_on names keys of this breakdown only; no cycles.',
    '- Each task: self-contained description, testable acceptance criteria, and the files or areas it will touch.',
    '',
    'Agent types:',
    types,
    '',
    'Requirement keys:',
    reqs || '(none parsed; derive tasks from the text)',
    '',
    '--- PRD.md ---',
    text.length > MAX_PRD_CHARS ? `${text.slice(0, MAX_PRD_CHARS)}\n[... truncated]` : text,
  ].join('\n');
}

export function retryPrompt(base: string, error: string): string {
  return `${base}\n\n--- Correction ---\nYour previous answer was invalid: ${error}\nAnswer again with a complete breakdown that fixes this; keep everything else that was right.`;
}

/**
 * How a breakdown call runs the CLI: it reads the repository and answers in
 * structured output; it edits nothing. Shared by `--analyze` and the
 * discovery task's Act, so both ask the same way.
 */
export const BREAKDOWN_CALL = {
  permissionMode: 'default',
  allowedTools: ['Read', 'Glob', 'Grep'],
  disallowedTools: ['Write', 'Edit', 'MultiEdit', 'Bash', 'NotebookEdit'],
  maxTurns: 12,
} as const satisfies Partial<ClaudeRunSpec>;

/** What a breakdown is asked for and checked against. */
export interface BreakdownSpec {
  /** PRD.md text. */
  prd: string;
  catalog: AgentCatalog;
  /** The phases the breakdown may plan (all enabled ones, or those after the asking task's). */
  phases: readonly PhaseName[];
  /** Attempts in all, the first included (default 3). */
  maxAttempts?: number | undefined;
}

/** One call's answer (structured output, or the result text), or the caller's reason to stop asking. */
export type Asked<S> = { kind: 'answer'; answer: unknown; costUsd: number } | { kind: 'stop'; stop: S };

export type BreakdownOutcome<S> =
  | { kind: 'valid'; result: AnalysisResult }
  /** No answer validated within the attempts: `error` is PLAN_INVALID with the last validation error. */
  | { kind: 'invalid'; error: SamgitaError; attempts: number; costUsd: number }
  | { kind: 'stop'; stop: S };

/**
 * Asks for a breakdown until one validates: each invalid answer is asked
 * again with its validation error fed back, at most `maxAttempts` times in
 * all. `ask` makes the call (the CLI boundary is the caller's: `--analyze`
 * runs the CLI directly, the discovery task through its Act with budget and
 * provider gate) and may stop the asking.
 */
export async function askForBreakdown<S>(
  spec: BreakdownSpec,
  ask: (call: { prompt: string; jsonSchema: Record<string, unknown>; attempt: number }) => Promise<Asked<S>>,
): Promise<BreakdownOutcome<S>> {
  const prd = parsePrd(spec.prd);
  const jsonSchema = workBreakdownJsonSchema([...spec.catalog.keys()]) as unknown as Record<string, unknown>;
  const base = analysisPrompt(prd, spec.prd, spec.catalog, spec.phases);
  const maxAttempts = Math.max(1, spec.maxAttempts ?? 3);
  let prompt = base;
  let lastError = '';
  let costUsd = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const asked = await ask({ prompt, jsonSchema, attempt });
    if (asked.kind === 'stop') return asked;
    costUsd += asked.costUsd;
    const answer = asked.answer;
    try {
      const tasks = parseWorkBreakdown(answer, spec.catalog, { prd, phases: spec.phases });
      return {
        kind: 'valid',
        result: {
          tasks,
          breakdown: typeof answer === 'string' ? JSON.parse(answer) : answer,
          attempts: attempt,
          costUsd,
        },
      };
    } catch (err) {
      if (!isSamgitaError(err, 'PLAN_INVALID')) throw err;
      lastError = errorMessage(err);
      prompt = retryPrompt(base, lastError);
    }
  }
  const error = new SamgitaError(
    'PLAN_INVALID',
    `PRD analysis gave no valid work breakdown after ${maxAttempts} attempt(s); last error: ${lastError}`,
    {
      hint: 'plan without analysis (--no-analysis) to use the deterministic planner, or clarify the PRD',
      details: { attempts: maxAttempts, lastError },
    },
  );
  return { kind: 'invalid', error, attempts: maxAttempts, costUsd };
}

/** The validated breakdown as planned tasks, with meta data (attempts, cost). */
export async function analyzePrdDetailed(opts: AnalyzeOptions): Promise<AnalysisResult> {
  const phases = enabledPhases(opts.config.phases);
  const spec = { prd: opts.prd, catalog: opts.catalog, phases, maxAttempts: opts.maxAttempts };
  const outcome = await askForBreakdown<never>(spec, async ({ prompt, jsonSchema, attempt }) => {
    const run = await runClaude({
      bin: opts.claudeBin,
      cwd: opts.cwd,
      claude: { prompt, jsonSchema, ...BREAKDOWN_CALL, model: opts.config.models?.strong },
      ...(opts.env ? { env: opts.env } : {}),
      timeoutMs: opts.timeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.wrap ? { wrap: opts.wrap } : {}),
    });
    if (run.outcome.kind !== 'success') {
      throw new SamgitaError(
        run.outcome.kind === 'timeout' ? 'CLAUDE_TIMEOUT' : 'CLAUDE_FAILED',
        `PRD analysis: Claude Code run failed (${run.outcome.kind}): ${run.outcome.message}`,
        {
          hint: 'retry later, or plan without analysis (--no-analysis) to use the deterministic planner',
          details: { attempt, outcome: run.outcome.kind },
        },
      );
    }
    return { kind: 'answer', answer: breakdownAnswer(run), costUsd: run.summary.costUsd };
  });
  if (outcome.kind === 'invalid') throw outcome.error;
  if (outcome.kind === 'stop') return outcome.stop;
  return outcome.result;
}

/** The answer of a breakdown call: its structured output, else its result text (validated as JSON). */
export function breakdownAnswer(run: Pick<ClaudeRunResult, 'structuredOutput' | 'summary'>): unknown {
  return run.structuredOutput !== undefined ? run.structuredOutput : (run.summary.resultText ?? '');
}

/** FR-2.1: the agent's validated work breakdown as planned tasks. */
export async function analyzePrd(opts: AnalyzeOptions): Promise<PlannedTask[]> {
  return (await analyzePrdDetailed(opts)).tasks;
}

/** Records a validated breakdown for the project (idempotent per PRD + config content); returns its id. */
export async function storeAnalysis(
  db: Queryable,
  input: {
    projectId: string;
    revisionId: string | null;
    prdHash: string;
    configHash: string;
    result: AnalysisResult;
  },
): Promise<string> {
  const b = input.result.breakdown as { summary?: unknown };
  return upsertAnalysis(db, {
    projectId: input.projectId,
    revisionId: input.revisionId,
    prdHash: input.prdHash,
    configHash: input.configHash,
    summary: typeof b?.summary === 'string' ? b.summary : null,
    breakdown: input.result.breakdown,
    attempts: input.result.attempts,
    costUsd: input.result.costUsd,
  });
}

/** Whether a breakdown for exactly this PRD + config content is recorded. */
export async function hasAnalysis(
  db: Queryable,
  projectId: string,
  prdHash: string,
  configHash: string,
): Promise<boolean> {
  return (await findAnalysis(db, projectId, prdHash, configHash)) !== null;
}

/**
 * The newest recorded breakdown, re-validated against the current PRD: tasks
 * whose requirements were all removed are dropped (so the reconciler cancels
 * them), references to removed requirements are pruned, and dependencies on
 * dropped tasks are removed. Null when none is recorded or it no longer fits.
 */
export async function latestBreakdown(
  db: Queryable,
  projectId: string,
  prd: ParsedPrd,
  catalog: AgentCatalog,
  phases: readonly PhaseName[],
): Promise<{ tasks: PlannedTask[]; warnings: string[] } | null> {
  const raw = await newestBreakdown(db, projectId);
  if (!raw || !Array.isArray(raw.tasks)) return null;
  const known = new Set(prd.requirements.map((r) => r.key));
  const warnings: string[] = [];
  const kept = raw.tasks.filter((t) => {
    const keys = Array.isArray(t.requirement_keys) ? (t.requirement_keys as string[]) : [];
    const ok =
      catalog.has(String(t.agent_type)) &&
      (phases as readonly string[]).includes(String(t.phase)) &&
      (keys.length === 0 || keys.some((k) => known.has(k)));
    if (!ok) warnings.push(`breakdown task ${String(t.key)} dropped: its requirements or phase are gone`);
    return ok;
  });
  const keptKeys = new Set(kept.map((t) => String(t.key)));
  const cleaned = kept.map((t) => ({
    ...t,
    requirement_keys: ((t.requirement_keys as string[] | undefined) ?? []).filter((k) => known.has(k)),
    depends_on: ((t.depends_on as string[] | undefined) ?? []).filter((d) => keptKeys.has(d)),
  }));
  if (cleaned.length === 0) return null;
  try {
    return {
      tasks: parseWorkBreakdown({ ...raw, tasks: cleaned }, catalog, {
        prd,
        phases,
      }),
      warnings,
    };
  } catch (err) {
    warnings.push(`recorded breakdown ignored: ${errorMessage(err)}`);
    return { tasks: [], warnings };
  }
}
