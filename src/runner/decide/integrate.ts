/**
 * What the merge queue's result means for a task. Pure.
 *
 * A verified task branch is merged onto the integration head and verified
 * again there: the combined tree is what ships. A merge that conflicts, that
 * would bring conflict markers in, or that breaks the combined tree sends the
 * task back to its agent for one more RARV loop, started from the current
 * integration head (merged into its branch) and told exactly why — bounded by
 * the same loop, escalation and attempt limits as a failing verify.
 */
export type IntegrationResult =
  | { kind: 'merged'; sha: string; verify: { status: 'passed' | 'unverified'; commands: string[] } }
  /** The integration head already holds everything of the task's. */
  | { kind: 'nothing' }
  | { kind: 'conflict'; files: string[]; hunks: string }
  | { kind: 'markers'; found: { file: string; line: string }[] }
  | { kind: 'broken'; failure: string };

export type SendBackReason = Exclude<IntegrationResult['kind'], 'merged' | 'nothing'>;

export type IntegrateDecision =
  | { kind: 'integrated'; sha: string | null }
  | { kind: 'send_back'; reason: SendBackReason; note: string; continuity: string; files: string[] };

const FILES_SHOWN = 30;

/** The integration outcome for the task: integrated, or sent back with what its agent must fix. */
export function decideIntegration(r: IntegrationResult, branch: string): IntegrateDecision {
  switch (r.kind) {
    case 'merged':
      return { kind: 'integrated', sha: r.sha };
    case 'nothing':
      return { kind: 'integrated', sha: null };
    case 'conflict': {
      const files = r.files.slice(0, FILES_SHOWN);
      return {
        kind: 'send_back',
        reason: 'conflict',
        files,
        note: `conflicts with ${branch} in ${files.join(', ')}`,
        continuity: [
          `Integration: your branch conflicts with ${branch}, where other tasks' work was merged since you started.`,
          `The head of ${branch} has been merged into your branch, with conflict markers left in: ${files.join(', ')}.`,
          'Resolve every conflict keeping the intent of both sides, remove all <<<<<<< / ======= / >>>>>>> lines, and make the verify commands pass on the combined code.',
          `The conflicting hunks:\n${r.hunks}`,
        ].join('\n'),
      };
    }
    case 'markers': {
      const files = [...new Set(r.found.map((m) => m.file))].slice(0, FILES_SHOWN);
      return {
        kind: 'send_back',
        reason: 'markers',
        files,
        note: `conflict markers in ${files.join(', ')}`,
        continuity: `Integration refused: your branch adds conflict markers (<<<<<<< / ======= / >>>>>>>) in ${files.join(', ')}. Resolve those conflicts properly; no marker may remain.`,
      };
    }
    case 'broken':
      return {
        kind: 'send_back',
        reason: 'broken',
        files: [],
        note: `breaks ${branch} when combined: ${lastLine(r.failure)}`,
        continuity: [
          `Integration: your change passes on its own but breaks ${branch} combined with the work merged there since you started.`,
          `The head of ${branch} has been merged into your branch; fix the combination so the verify commands pass. The combined tree's verify said:`,
          r.failure,
        ].join('\n'),
      };
  }
}

/** The failure's last line that says something: where test runners print their verdict. */
function lastLine(text: string): string {
  return (text.split('\n').findLast((l) => l.trim()) ?? '').trim().slice(0, 200);
}
