/**
 * The Reason step's context (FR-5.5): everything an agent should know about
 * its task, packed into a token budget. Pure, so what went in can be recorded
 * and tested exactly.
 */
export interface ContextInput {
  projectName: string;
  task: {
    key: string;
    title: string;
    description: string;
    phase: string;
    agentType: string;
    acceptanceCriteria: string[];
  };
  requirement: { key: string; title: string; body: string } | null;
  prdExcerpt: string;
  /** Earlier loops' lessons for this task: verify failures, review comments, reflections. Newest last. */
  continuity: string[];
  memories: string[];
  repo: { branch: string; changedFiles: string[]; recentCommits: string[] };
  verifyCommands: string[];
}

export interface ContextSection {
  name: string;
  text: string;
  tokens: number;
  truncated: boolean;
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

// Shares of the budget; the task itself always goes in whole (it is small and essential).
const SHARES = { requirement: 0.2, continuity: 0.3, prd: 0.25, memories: 0.1, repo: 0.1 } as const;

export function buildContext(input: ContextInput, budgetTokens = 12_000): BuiltContext {
  const sections: ContextSection[] = [];
  const add = (name: string, text: string, truncated = false) => {
    if (text.trim()) sections.push({ name, text, tokens: estimateTokens(text), truncated });
  };
  const t = input.task;
  add(
    'task',
    [
      `You are working on the project "${input.projectName}" as the ${t.agentType} agent, in the ${t.phase} phase.`,
      `Task ${t.key}: ${t.title}`,
      '',
      t.description,
      ...(t.acceptanceCriteria.length
        ? ['', 'Acceptance criteria:', ...t.acceptanceCriteria.map((c) => `- ${c}`)]
        : []),
    ].join('\n'),
  );
  if (input.requirement) {
    const r = clip(
      `${input.requirement.key} — ${input.requirement.title}\n${input.requirement.body}`,
      budgetTokens * SHARES.requirement,
    );
    add('requirement', `The requirement this task serves:\n${r.text}`, r.truncated);
  }
  if (input.continuity.length) {
    const c = newestThatFit(input.continuity, budgetTokens * SHARES.continuity);
    add('continuity', `What earlier attempts at this task learned (fix these first):\n${c.text}`, c.truncated);
  }
  if (input.prdExcerpt.trim()) {
    const p = clip(input.prdExcerpt, budgetTokens * SHARES.prd);
    add('prd', `Relevant part of PRD.md:\n${p.text}`, p.truncated);
  }
  if (input.memories.length) {
    const m = newestThatFit(input.memories, budgetTokens * SHARES.memories);
    add('memories', `Project knowledge from other tasks:\n${m.text}`, m.truncated);
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
  if (input.verifyCommands.length) {
    add(
      'verify',
      `When you finish, these commands must pass (Samgita runs them):\n${input.verifyCommands.map((c) => `  $ ${c}`).join('\n')}`,
    );
  }
  const prompt = sections.map((s) => s.text).join('\n\n');
  return { prompt, sections, tokens: estimateTokens(prompt), budget: budgetTokens };
}

/** The PRD around the requirement's ID, or the PRD's start: the part an agent most needs. */
export function prdExcerpt(prd: string, requirementKey: string | null, maxChars = 6000): string {
  if (!prd) return '';
  if (requirementKey) {
    const at = prd.indexOf(requirementKey);
    if (at >= 0) {
      const start = Math.max(0, prd.lastIndexOf('\n#', at));
      return prd.slice(start, start + maxChars);
    }
  }
  return prd.slice(0, maxChars);
}
