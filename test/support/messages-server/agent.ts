/**
 * A scripted agent for the Messages API stand-in: the real Claude Code CLI
 * talks to it, and it answers each conversation by what the task's prompt
 * says — several agents at once, in any order. The first rule whose pattern
 * matches the prompt drives the conversation the way a model must: Read each
 * file first (Claude Code's Write refuses to overwrite a file it has not
 * read — a merge conflict's file, say), then Write them, then answer in text,
 * and the CLI ends the run.
 */
import type { MessagesScript, Turn, TurnContext } from './index.js';

export interface AgentRule {
  /** Matched against the conversation's first user message (the task's prompt). */
  when: RegExp;
  /** Files to write, relative to the agent's working directory (its worktree). */
  write: Record<string, string>;
  /** What the agent says at the end. */
  say?: string;
  /** How long the first answer takes. */
  delayMs?: number;
  /**
   * Rules sharing a name meet: none of their first answers goes out until
   * every one of them has been asked — the agents are provably at work at
   * the same time (both branches checked out), whatever the machine's load.
   */
  together?: string;
}

function messages(body: Record<string, unknown>): Array<{ role: string; content: unknown }> {
  return Array.isArray(body.messages) ? (body.messages as Array<{ role: string; content: unknown }>) : [];
}

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((b) => (b && typeof b === 'object' && 'text' in b ? String(b.text) : '')).join('\n');
  return '';
}

/** How many tool-calling turns the conversation already had: its stage. */
function toolTurns(body: Record<string, unknown>): number {
  return messages(body).filter(
    (m) =>
      m.role === 'assistant' &&
      Array.isArray(m.content) &&
      (m.content as Array<{ type?: string }>).some((b) => b && typeof b === 'object' && b.type === 'tool_use'),
  ).length;
}

function barriers(rules: AgentRule[]): (rule: AgentRule) => Promise<void> | undefined {
  const groups = new Map<string, { waiting: Set<AgentRule>; met: Promise<void>; meet: () => void }>();
  for (const r of rules) {
    if (!r.together) continue;
    let g = groups.get(r.together);
    if (!g) {
      let meet = () => {};
      const met = new Promise<void>((resolve) => (meet = resolve));
      g = { waiting: new Set(), met, meet };
      groups.set(r.together, g);
    }
    g.waiting.add(r);
  }
  return (rule) => {
    const g = rule.together ? groups.get(rule.together) : undefined;
    if (!g) return undefined;
    g.waiting.delete(rule);
    if (g.waiting.size === 0) g.meet();
    return g.met;
  };
}

export function scriptedAgent(rules: AgentRule[]): MessagesScript {
  const arrive = barriers(rules);
  return {
    turns: [{ text: 'Done.' }],
    turnFor: (ctx: TurnContext): Turn | undefined => {
      const prompt = text(messages(ctx.body).find((m) => m.role === 'user')?.content);
      const rule = rules.find((r) => r.when.test(prompt));
      if (!rule) return { text: 'Nothing to do for this task.' };
      const stage = toolTurns(ctx.body);
      if (stage === 0) {
        const after = arrive(rule);
        return {
          toolUse: Object.keys(rule.write).map((file_path) => ({ name: 'Read', input: { file_path } })),
          ...(rule.delayMs ? { delayMs: rule.delayMs } : {}),
          ...(after ? { after } : {}),
        };
      }
      if (stage === 1)
        return {
          toolUse: Object.entries(rule.write).map(([file_path, content]) => ({
            name: 'Write',
            input: { file_path, content },
          })),
        };
      return { text: rule.say ?? 'Done.' };
    },
  };
}
