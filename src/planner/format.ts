import { PHASES } from '../agents/catalog.js';
import { type Action, summarizeActions } from './diff.js';
import type { Plan, PlannedTask } from './types.js';

const SYMBOL: Record<Action['type'], string> = {
  create: '+',
  update: '~',
  restart: '-/+',
  reopen: '↺',
  cancel: '-',
};

/** The whole plan as text, every task as a creation (`samgita plan` on a new project). No colours. */
export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  lines.push(`Samgita plan${plan.title ? `: ${plan.title}` : ''}`);
  lines.push(`Phases: ${plan.phases.join(' → ')}`);
  for (const phase of plan.phases) {
    const tasks = plan.tasks.filter((t) => t.phase === phase);
    if (tasks.length === 0) continue;
    lines.push('');
    lines.push(`${phase} (${tasks.length} ${tasks.length === 1 ? 'task' : 'tasks'})`);
    const keyWidth = Math.max(...tasks.map((t) => t.key.length));
    const typeWidth = Math.max(...tasks.map((t) => t.agentType.length));
    for (const t of tasks) lines.push(`  + ${taskLine(t, keyWidth, typeWidth)}`);
  }
  for (const w of plan.warnings) lines.push(`warning: ${w}`);
  lines.push('');
  lines.push(
    summarizeActions(plan.tasks.map((task) => ({ type: 'create', key: task.key, phase: task.phase, task }))).text,
  );
  return lines.join('\n');
}

/** Reconcile actions as a terraform-plan-like diff, grouped by phase. No colours. */
export function formatPlanDiff(actions: readonly Action[]): string {
  const summary = summarizeActions(actions);
  if (actions.length === 0) return summary.text;
  const order = (p: string) => {
    const i = (PHASES as readonly string[]).indexOf(p);
    return i < 0 ? PHASES.length : i;
  };
  const phases = [...new Set(actions.map((a) => a.phase))].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const lines: string[] = [];
  for (const phase of phases) {
    const group = actions.filter((a) => a.phase === phase);
    if (lines.length > 0) lines.push('');
    lines.push(`${phase}:`);
    const keyWidth = Math.max(...group.map((a) => a.key.length));
    for (const a of group) {
      const sym = SYMBOL[a.type].padStart(3);
      const key = a.key.padEnd(keyWidth);
      let detail: string;
      switch (a.type) {
        case 'create':
          detail = `${a.task.agentType}  ${a.task.title}`;
          break;
        case 'update':
        case 'restart':
          detail = `${a.type} (${a.changes.join(', ')})`;
          break;
        case 'reopen':
          detail = `reopen ${a.previousStatus} (${a.changes.join(', ')})`;
          break;
        case 'cancel':
          detail = `cancel ${a.previousStatus} (${a.reason === 'requirement_removed' ? 'requirement removed' : 'no longer in plan'})`;
          break;
      }
      lines.push(`  ${sym} ${key}  ${detail}`);
    }
  }
  lines.push('');
  lines.push(summary.text);
  return lines.join('\n');
}

function taskLine(t: PlannedTask, keyWidth: number, typeWidth: number): string {
  const req = t.requirementKey
    ? `  [${t.requirementKeys.length > 1 ? `${t.requirementKeys.length} reqs` : t.requirementKey}]`
    : '';
  const deps = t.dependsOn.length > 0 ? `  (after ${t.dependsOn.length})` : '';
  return `${t.key.padEnd(keyWidth)}  ${t.agentType.padEnd(typeWidth)}  ${t.title}${req}${deps}`;
}
