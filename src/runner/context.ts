/**
 * The Reason step's context (FR-5.5): everything an agent should know about
 * its task, packed into a token budget. Pure, so what went in can be recorded
 * and tested exactly.
 *
 * Everything goes in once: the planner's task description already quotes the
 * requirement and lists the acceptance criteria, so neither is repeated, and
 * of the PRD only what the task does not already say is added. Then the
 * working context: where the work sits (areas), the branch, what earlier tasks
 * integrated since the branch started, and the commands that will judge it.
 */
import { plain, withoutRepeats } from './prd-excerpt.js';

export interface ContextInput {
  projectName: string;
  task: {
    key: string;
    title: string;
    description: string;
    phase: string;
    agentType: string;
    acceptanceCriteria: string[];
    /** Where the task's work sits ("api:projects", or files of an agent-made breakdown). */
    areas?: string[];
  };
  requirement: { key: string; title: string; body: string } | null;
  /** The PRD around the requirement (see prdExcerpt); what the task already says is left out here. */
  prdExcerpt: string;
  /** Earlier loops' lessons for this task: verify failures, review comments, reflections. Newest last. */
  continuity: string[];
  /** Project memories, most relevant first (src/memory/relevance.ts). */
  memories: string[];
  repo: { branch: string; changedFiles: string[]; recentCommits: string[] };
  /** What earlier tasks integrated since this task's branch started; null or absent: nothing. */
  integrated?: Integrated | null;
  verifyCommands: string[];
}

/** Work merged onto the integration branch since `base` (see integratedSince in src/git/commit.ts). */
export interface Integrated {
  branch: string;
  base: string;
  /** `<short sha> <subject>`, newest first. */
  commits: string[];
  /** There were more commits than listed. */
  moreCommits: boolean;
  files: string[];
  /** How many changed files are not listed. */
  moreFiles: number;
}

export interface ContextSection {
  name: string;
  text: string;
  tokens: number;
  truncated: boolean;
  /** Of a list given best first (memories): the indexes of the items that went in. */
  included?: number[];
}

export interface BuiltContext {
  prompt: string;
  sections: ContextSection[];
  tokens: number;
  budget: number;
}

/** ~4 characters per token for English and code: close enough to budget with. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function clip(text: string, maxTokens: number): { text: string; truncated: boolean } {
  if (estimateTokens(text) <= maxTokens) return { text, truncated: false };
  const keep = Math.max(0, maxTokens * 4 - 40);
  return { text: `${text.slice(0, keep)}\n… [truncated to fit the context budget]`, truncated: true };
}

/** Keeps the newest items that fit, so the latest failure is never the one dropped. */
function newestThatFit(items: string[], maxTokens: number): { text: string; truncated: boolean } {
  const kept: string[] = [];
  let used = 0;
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!;
    const t = estimateTokens(item) + 2;
    if (used + t > maxTokens) {
      if (kept.length === 0) kept.unshift(clip(item, maxTokens).text);
      return { text: kept.map((k) => `- ${k}`).join('\n'), truncated: true };
    }
    kept.unshift(item);
    used += t;
  }
  return { text: kept.map((k) => `- ${k}`).join('\n'), truncated: false };
}

/**
 * Keeps the best items that fit, in order; one too long for what is left is
 * skipped rather than ending the list, so a long memory does not crowd out
 * the shorter relevant ones after it.
 */
function bestThatFit(items: string[], maxTokens: number): { text: string; truncated: boolean; included: number[] } {
  const included: number[] = [];
  let used = 0;
  for (const [i, item] of items.entries()) {
    const t = estimateTokens(item) + 2;
    if (used + t > maxTokens) continue;
    included.push(i);
    used += t;
  }
  // Nothing fits whole: the best one, clipped, rather than nothing.
  const first = items[0];
  if (included.length === 0 && first !== undefined)
    return { text: `- ${clip(first, maxTokens).text}`, truncated: true, included: [0] };
  return {
    text: included.map((i) => `- ${items[i]}`).join('\n'),
    truncated: included.length < items.length,
    included,
  };
}

// Shares of the budget; the task itself always goes in whole (it is small and essential).
const SHARES = { requirement: 0.2, continuity: 0.3, prd: 0.2, memories: 0.1, repo: 0.1, integrated: 0.1 } as const;

const CRITERIA_HEADING = /^\s*acceptance criteria:?\s*$/i;
const BULLET = /^\s*[-*+]\s+/;

/**
 * The description without a block of acceptance criteria that only repeats
 * `criteria` (the planner appends them to the description as well): the task
 * section lists them once, after it. A description's own, different list stays.
 */
export function withoutCriteria(description: string, criteria: readonly string[]): string {
  if (criteria.length === 0) return description;
  const listed = new Set(criteria.map(plain));
  return description
    .split(/\n[ \t]*\n/)
    .filter((para) => {
      const [head, ...items] = para.trim().split('\n');
      const repeats =
        head !== undefined &&
        CRITERIA_HEADING.test(head) &&
        items.length > 0 &&
        items.every((i) => listed.has(plain(i.replace(BULLET, ''))));
      return !repeats;
    })
    .join('\n\n')
    .trim();
}

function integratedText(done: Integrated): string {
  const more = done.moreFiles > 0 ? ` and ${done.moreFiles} more` : '';
  return [
    `Since this branch started (at ${done.base.slice(0, 12)}), earlier tasks' verified work was merged onto ${done.branch}, where your branch will be merged and verified in turn. Build on that work rather than redo it, and expect its changes to the files below (read them with \`git show ${done.branch}:<path>\`).`,
    'Integrated commits, newest first:',
    ...done.commits.map((c) => `  ${c}`),
    ...(done.moreCommits ? ['  … and earlier ones'] : []),
    ...(done.files.length ? [`Files they changed: ${done.files.join(', ')}${more}`] : []),
  ].join('\n');
}

export function buildContext(input: ContextInput, budgetTokens = 12_000): BuiltContext {
  const sections: ContextSection[] = [];
  const add = (name: string, text: string, truncated = false, included?: number[]) => {
    if (text.trim())
      sections.push({ name, text, tokens: estimateTokens(text), truncated, ...(included ? { included } : {}) });
  };
  const t = input.task;
  const description = withoutCriteria(t.description, t.acceptanceCriteria);
  add(
    'task',
    [
      `You are working on the project "${input.projectName}" as the ${t.agentType} agent, in the ${t.phase} phase.`,
      `Task ${t.key}: ${t.title}`,
      ...(description ? ['', description] : []),
      ...(t.acceptanceCriteria.length
        ? ['', 'Acceptance criteria:', ...t.acceptanceCriteria.map((c) => `- ${c}`)]
        : []),
    ].join('\n'),
  );
  // The planner's description quotes its requirements verbatim, with their place in the PRD:
  // the requirement gets a section of its own only when the description does not quote it.
  const req = input.requirement;
  if (req && !(req.body.trim() && plain(description).includes(plain(req.body)))) {
    const r = clip(`${req.key} — ${req.title}\n${req.body}`, budgetTokens * SHARES.requirement);
    add('requirement', `The requirement this task serves:\n${r.text}`, r.truncated);
  }
  // Of the PRD, only what adds to the above: the requirement's neighbours, notes, context.
  const said = [t.title, description, ...t.acceptanceCriteria, req ? `${req.key} ${req.title}\n${req.body}` : ''];
  const excerpt = withoutRepeats(input.prdExcerpt, said.join('\n'));
  if (excerpt) {
    const p = clip(excerpt, budgetTokens * SHARES.prd);
    const label = req
      ? 'Around it in PRD.md (what is quoted above is left out):'
      : 'The start of PRD.md, for what the product is:';
    add('prd', `${label}\n${p.text}`, p.truncated);
  }
  if (input.continuity.length) {
    const c = newestThatFit(input.continuity, budgetTokens * SHARES.continuity);
    add('continuity', `What earlier attempts at this task learned (fix these first):\n${c.text}`, c.truncated);
  }
  if (input.memories.length) {
    const m = bestThatFit(input.memories, budgetTokens * SHARES.memories);
    add('memories', `Project knowledge from other tasks, most relevant first:\n${m.text}`, m.truncated, m.included);
  }
  // The working context.
  const areas = t.areas ?? [];
  if (areas.length) {
    add(
      'areas',
      `This task's work sits in ${areas.length > 1 ? 'these areas' : 'this area'} of the project: ${areas.join(', ')}. Keep your changes there where you can; other tasks work on other areas.`,
    );
  }
  const repoLines = [
    `You are on branch ${input.repo.branch}, in a git worktree of your own. Samgita commits your changes; do not commit or push yourself.`,
    ...(input.repo.changedFiles.length
      ? [`Files already changed on this branch: ${input.repo.changedFiles.join(', ')}`]
      : []),
    ...(input.repo.recentCommits.length ? ['Recent commits:', ...input.repo.recentCommits.map((c) => `  ${c}`)] : []),
  ];
  const r = clip(repoLines.join('\n'), budgetTokens * SHARES.repo);
  add('repo', r.text, r.truncated);
  if (input.integrated && input.integrated.commits.length > 0) {
    const i = clip(integratedText(input.integrated), budgetTokens * SHARES.integrated);
    add('integrated', i.text, i.truncated);
  }
  if (input.verifyCommands.length) {
    add(
      'verify',
      `When you finish, these commands must pass (Samgita runs them):\n${input.verifyCommands.map((c) => `  $ ${c}`).join('\n')}`,
    );
  }
  const prompt = sections.map((s) => s.text).join('\n\n');
  return { prompt, sections, tokens: estimateTokens(prompt), budget: budgetTokens };
}
