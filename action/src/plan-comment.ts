/**
 * The pull request comment of `mode: plan`, rendered from `samgita plan --json`
 * like a Terraform plan on a pull request. Pure: text in, text out.
 *
 * Everything shown comes from the pull request's PRD.md and samgita.yaml, so it
 * is untrusted text: code fences are made longer than any backtick run inside
 * them and table cells are escaped, so it cannot break out of its block.
 */

import { PHASES } from '../../src/domain/states.js';

/** Finds our comment among the pull request's comments. */
export const PLAN_MARKER = '<!-- samgita-plan -->';

/** GitHub refuses comment bodies over 65,536 characters; leave room for the tail. */
export const MAX_COMMENT_CHARS = 65_536;

export type ActionType = 'create' | 'update' | 'restart' | 'reopen' | 'cancel';

export interface PlanJsonAction {
  type: ActionType;
  key: string;
  phase: string;
  title: string | null;
  agentType: string | null;
  model: string | null;
  changes?: string[];
  reason?: string;
  previousStatus?: string;
}

export interface PlanJsonTask {
  key: string;
  phase: string;
  title: string;
  agentType: string;
  model: string;
}

export interface PlanJsonEstimate {
  tasks: number;
  usd_low: number;
  usd_high: number;
  per_model: { model: string; family: string; priced: boolean; tasks: number; usd_low: number; usd_high: number }[];
  budget_usd: number | null;
  fits: 'yes' | 'maybe' | 'no' | 'no_cap';
  assumptions: {
    tokens_per_task: Record<
      string,
      Record<'low' | 'high', { input: number; output: number; cacheRead: number; cacheWrite: number }>
    >;
    prices_usd_per_mtok: Record<string, { input: number; output: number; cacheWrite: number; cacheRead: number }>;
    note: string;
  };
}

/** The part of `samgita plan --json` the comment shows. */
export interface PlanJson {
  commit: string;
  against: string | null;
  project: { id: string; name: string } | null;
  phases: string[];
  warnings: string[];
  requirements?: { added: string[]; changed: string[]; removed: string[] } | null;
  actions?: PlanJsonAction[];
  tasks?: PlanJsonTask[];
  summary: { create: number; update: number; restart: number; reopen: number; cancel: number };
  summaryText: string;
  estimate: PlanJsonEstimate;
}

/** `samgita … --json` when the command failed (src/cli/main.ts). */
export interface ErrorJson {
  outcome: string;
  exit_code: number;
  error: {
    code: string;
    message: string;
    hint?: string;
    location?: { file?: string; line?: number; column?: number; field?: string };
    details?: { issues?: { line: number; column: number; message: string; hint?: string }[] };
  };
}

export interface CommentInput {
  headSha: string;
  baseSha: string;
  /** The checkout's path: file locations in errors are shown relative to it. */
  repoRoot: string;
  /** What the files changed in the pull request (PRD.md, samgita.yaml). */
  changedFiles: string[];
  /** A link to the workflow run, when known. */
  runUrl?: string | undefined;
  limit?: number | undefined;
}

const SYMBOL: Record<ActionType, string> = { create: '+', update: '~', restart: '-/+', reopen: '↺', cancel: '-' };
/** The vocabulary of the server itself (bundled in), so a new phase sorts where Samgita runs it. */
const PHASE_ORDER: readonly string[] = PHASES;

/** A code fence longer than any run of backticks in `text`. */
export function fenceFor(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/gu) ?? []).map((r) => r.length));
  return '`'.repeat(Math.max(3, longest + 1));
}

/** Text safe inside a table cell: no line breaks, pipes escaped, no HTML. */
export function cell(text: string): string {
  return text.replace(/\s+/gu, ' ').replace(/\|/gu, '\\|').replace(/</gu, '&lt;').replace(/>/gu, '&gt;').trim();
}

const usd = (n: number) => `$${n.toFixed(2)}`;
const short = (sha: string) => sha.slice(0, 7);

/** One diff line per action, grouped by phase in execution order, like `samgita plan` prints them. */
export function diffLines(plan: PlanJson): string[] {
  const actions: PlanJsonAction[] =
    plan.actions ??
    (plan.tasks ?? []).map((t) => ({
      type: 'create',
      key: t.key,
      phase: t.phase,
      title: t.title,
      agentType: t.agentType,
      model: t.model,
    }));
  const order = (p: string) => {
    const i = PHASE_ORDER.indexOf(p);
    return i < 0 ? PHASE_ORDER.length : i;
  };
  const phases = [...new Set(actions.map((a) => a.phase))].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const lines: string[] = [];
  for (const phase of phases) {
    const group = actions.filter((a) => a.phase === phase);
    lines.push(`@@ ${phase} (${group.length}) @@`);
    const width = Math.max(...group.map((a) => a.key.length));
    for (const a of group) lines.push(`${SYMBOL[a.type].padEnd(3)} ${a.key.padEnd(width)}  ${detail(a)}`.trimEnd());
  }
  return lines.map((l) => l.replace(/[\r\n]+/gu, ' '));
}

function detail(a: PlanJsonAction): string {
  const who = a.agentType ? `${a.agentType}${a.model ? ` (${a.model})` : ''}` : '';
  const title = a.title ?? '';
  switch (a.type) {
    case 'create':
      return `${who}  ${title}`;
    case 'update':
    case 'restart':
      return `${a.type} (${(a.changes ?? []).join(', ')})  ${who}  ${title}`;
    case 'reopen':
      return `reopen ${a.previousStatus ?? ''} (${(a.changes ?? []).join(', ')})  ${who}  ${title}`;
    case 'cancel':
      return `cancel ${a.previousStatus ?? ''} (${a.reason === 'requirement_removed' ? 'requirement removed' : 'no longer in plan'})  ${title}`;
  }
}

function fitsText(e: PlanJsonEstimate): string {
  if (e.budget_usd === null) return 'no project budget is set (`budget.project.usd: null`)';
  const b = `the project budget of **${usd(e.budget_usd)}** (\`budget.project.usd\`)`;
  if (e.fits === 'yes') return `✅ fits ${b}`;
  if (e.fits === 'no') return `❌ exceeds ${b}`;
  return `⚠️ may exceed ${b}`;
}

/** The cost estimate: total, per model, and the assumptions behind it (folded). */
export function renderEstimate(e: PlanJsonEstimate): string {
  const out: string[] = ['#### Estimated cost', ''];
  if (e.tasks === 0) {
    out.push('No task would be run by this change.');
    return out.join('\n');
  }
  out.push(
    `**${usd(e.usd_low)}–${usd(e.usd_high)}** for ${e.tasks} ${e.tasks === 1 ? 'task' : 'tasks'} to run (added, restarted or reopened): ${fitsText(e)}.`,
    '',
    '| model | tasks | estimate |',
    '|---|---:|---:|',
  );
  for (const m of e.per_model) {
    const note = m.priced ? '' : ` (unknown model, priced as ${m.family})`;
    out.push(`| \`${cell(m.model)}\`${note} | ${m.tasks} | ${usd(m.usd_low)}–${usd(m.usd_high)} |`);
  }
  out.push('', '<details><summary>Assumptions</summary>', '', cell(e.assumptions.note), '');
  out.push('| tier | input | output | cache read | cache write |', '|---|---:|---:|---:|---:|');
  const k = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${Math.round(n / 1000)}k`);
  for (const [tier, r] of Object.entries(e.assumptions.tokens_per_task)) {
    out.push(
      `| ${cell(tier)} | ${k(r.low.input)}–${k(r.high.input)} | ${k(r.low.output)}–${k(r.high.output)} | ${k(r.low.cacheRead)}–${k(r.high.cacheRead)} | ${k(r.low.cacheWrite)}–${k(r.high.cacheWrite)} |`,
    );
  }
  out.push(
    '',
    'Prices, USD per million tokens ([Anthropic pricing](https://docs.claude.com/en/docs/about-claude/pricing)):',
    '',
  );
  out.push('| model | input | output | cache write | cache read |', '|---|---:|---:|---:|---:|');
  for (const [model, p] of Object.entries(e.assumptions.prices_usd_per_mtok)) {
    out.push(`| \`${cell(model)}\` | ${p.input} | ${p.output} | ${p.cacheWrite} | ${p.cacheRead} |`);
  }
  out.push('', '</details>');
  return out.join('\n');
}

function footer(input: CommentInput, against: string): string {
  const run = input.runUrl ? ` · [workflow run](${input.runUrl})` : '';
  return `<sub>Computed for ${input.headSha} against ${against}${run}. Samgita read PRD.md and samgita.yaml as data; nothing from this pull request was run.</sub>`;
}

/**
 * The comment for a computed plan. The action list is cut to fit GitHub's
 * limit, with a count of what was left out.
 */
export function renderPlanComment(plan: PlanJson, input: CommentInput): string {
  const limit = input.limit ?? MAX_COMMENT_CHARS;
  const against = plan.project
    ? `the plan recorded for project ${cell(plan.project.name)}`
    : plan.against
      ? `the plan of the base ${short(plan.against)}`
      : 'an empty plan (new project)';
  const head: string[] = [PLAN_MARKER, `### Samgita plan · ${short(input.headSha)}`, '', `**${plan.summaryText}**`, ''];
  const reqs = plan.requirements;
  if (reqs && (reqs.added.length || reqs.changed.length || reqs.removed.length)) {
    const list = (keys: string[]) => (keys.length ? ` (${keys.map(cell).join(', ')})` : '');
    head.push(
      `Requirements: ${reqs.added.length} added${list(reqs.added)}, ${reqs.changed.length} changed${list(reqs.changed)}, ${reqs.removed.length} removed${list(reqs.removed)}.`,
      '',
    );
  }
  head.push(`Changed in this pull request: ${input.changedFiles.map((f) => `\`${cell(f)}\``).join(', ')}.`, '');
  const tail: string[] = [''];
  for (const w of plan.warnings.slice(0, 20)) tail.push(`> ⚠️ ${cell(w)}`);
  if (plan.warnings.length > 20) tail.push(`> … and ${plan.warnings.length - 20} more warnings`);
  if (plan.warnings.length) tail.push('');
  tail.push(renderEstimate(plan.estimate), '', footer(input, against));

  const lines = diffLines(plan);
  const actionCount = lines.filter((l) => !l.startsWith('@@')).length;
  const fixed = head.join('\n').length + tail.join('\n').length + 400;
  const shown: string[] = [];
  let size = 0;
  for (const l of lines) {
    if (fixed + size + l.length + 1 > limit) break;
    shown.push(l);
    size += l.length + 1;
  }
  const shownActions = shown.filter((l) => !l.startsWith('@@')).length;
  let block = '';
  if (lines.length > 0) {
    const text = shown.join('\n');
    const fence = fenceFor(text);
    block = `${fence}diff\n${text}\n${fence}`;
    if (shownActions < actionCount) {
      block += `\n\n… and ${actionCount - shownActions} more ${actionCount - shownActions === 1 ? 'action' : 'actions'} not shown (GitHub comments are limited to ${MAX_COMMENT_CHARS.toLocaleString('en-US')} characters); run \`samgita plan --against ${short(input.baseSha)}\` for all of them.`;
    }
  }
  return [...head, block, ...tail].join('\n');
}

/** The error `samgita plan` stopped with, as `file:line:column: error CODE: message` lines. */
export function errorText(err: ErrorJson['error'], repoRoot: string): string {
  const rel = (file: string | undefined) => {
    if (!file) return undefined;
    const root = repoRoot.endsWith('/') ? repoRoot : `${repoRoot}/`;
    return file.startsWith(root) ? file.slice(root.length) : file;
  };
  const file = rel(err.location?.file);
  const issues = err.details?.issues ?? [];
  if (issues.length > 0 && file) {
    return issues
      .map((i) => {
        const head = `${file}:${i.line}:${i.column}: error ${err.code}: ${i.message}`;
        return i.hint ? `${head}\n  hint: ${i.hint}` : head;
      })
      .join('\n');
  }
  const loc = err.location;
  let prefix = '';
  if (file) {
    prefix = file;
    if (loc?.line !== undefined) prefix += `:${loc.line}`;
    if (loc?.line !== undefined && loc.column !== undefined) prefix += `:${loc.column}`;
    prefix += ': ';
  }
  const head = `${prefix}error ${err.code}: ${err.message}`;
  return err.hint ? `${head}\n  hint: ${err.hint}` : head;
}

/** The comment when no plan could be computed: the error, with its position in the file. */
export function renderErrorComment(
  outcome: string,
  error: ErrorJson['error'] | null,
  input: CommentInput & { exitCode: number },
): string {
  const limit = input.limit ?? MAX_COMMENT_CHARS;
  const title =
    outcome !== 'usage_error'
      ? '❌ the plan could not be computed'
      : error?.message.startsWith('at --against ')
        ? '❌ the desired state of the base branch is invalid'
        : '❌ the desired state in this pull request is invalid';
  let text = error ? errorText(error, input.repoRoot) : `samgita plan exited with ${input.exitCode}; see the job log.`;
  if (text.length > limit - 2000) text = `${text.slice(0, limit - 2000)}\n…`;
  const fence = fenceFor(text);
  return [
    PLAN_MARKER,
    `### Samgita plan · ${short(input.headSha)}: ${title}`,
    '',
    `Changed in this pull request: ${input.changedFiles.map((f) => `\`${cell(f)}\``).join(', ')}.`,
    '',
    `${fence}text`,
    text,
    fence,
    '',
    `Outcome: \`${outcome}\` (exit ${input.exitCode}). Fix it and push again: this comment is updated.`,
    '',
    footer(input, `the base ${short(input.baseSha)}`),
  ].join('\n');
}
