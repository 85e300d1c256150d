import type { PublishInput } from '../runner/publisher.js';
import { UNVERIFIED_HINT, UNVERIFIED_SUMMARY, verifyCommandsOf, verifyStatusOf } from '../verify/status.js';

export const PR_MARKER = '<!-- samgita:task';

/** The body of a task's pull request: what was done, verify result, tokens, cost, and a link to the task. */
export function prBody(input: PublishInput, opts: { taskUrl: string | null; summary?: string | null }): string {
  const lines = [
    `${PR_MARKER} ${input.taskId} -->`,
    `**Samgita task \`${input.taskKey}\`** · agent \`${input.agentType}\``,
    '',
    '### What was done',
    input.description.trim() || input.title,
    ...(opts.summary ? ['', opts.summary.trim()] : []),
    '',
    '### Verify',
    verifyLine(input.verify),
    '',
    '### Usage',
    `| Tokens | Cost |`,
    `|---:|---:|`,
    `| ${input.tokens.toLocaleString('en-US')} | $${input.costUsd.toFixed(4)} |`,
    '',
    opts.taskUrl
      ? `[Task on the Samgita status page](${opts.taskUrl})`
      : '_Set SAMGITA_PUBLIC_URL to link the status page._',
    '',
    'Review as usual: a review requesting changes, or line comments, go back to the agent, which pushes fix commits to this branch. Merging completes the task; closing without merging cancels it.',
  ];
  return lines.join('\n');
}

/**
 * How verify judged the branch. Unverified work says so plainly (and never
 * with the word "passed"): a reviewer must not read it as checked.
 */
export function verifyLine(verify: PublishInput['verify']): string {
  const status = verifyStatusOf(verify) ?? 'unverified';
  const commands = verifyCommandsOf(verify).map((c) => `\`${c}\``);
  if (status === 'passed') return `✅ passed: ${commands.length ? commands.join(', ') : verify.summary}`;
  if (status === 'unverified')
    return `⚠️ unverified: ${UNVERIFIED_SUMMARY}, so nothing checked this work. To have it checked, ${UNVERIFIED_HINT}.`;
  return `❌ failed: ${verify.summary}`;
}

export function taskUrl(publicUrl: string | null, projectId: string, taskId: string): string | null {
  return publicUrl ? `${publicUrl}/projects/${projectId}/tasks/${taskId}` : null;
}
