import {
  UNVERIFIED_HINT,
  UNVERIFIED_SUMMARY,
  type VerifyStatus,
  verifyCommandsOf,
  verifyStatusOf,
} from '../../../src/verify/status.js';
import type { TaskDetail } from '../lib/types.js';

/**
 * How verify judged a task: its result's record once completed, else its
 * last finished verify step (a step recorded before statuses existed is
 * judged by how it ended). Null while nothing has been verified yet.
 */
export function taskVerify(t: TaskDetail): { status: VerifyStatus; record: unknown } | null {
  const fromResult = t.result && typeof t.result === 'object' ? (t.result as { verify?: unknown }).verify : undefined;
  const resultStatus = verifyStatusOf(fromResult);
  if (resultStatus) return { status: resultStatus, record: fromResult };
  const last = t.rarv_steps.filter((s) => s.step === 'verify' && s.status !== 'started').at(-1);
  if (!last) return null;
  const status = verifyStatusOf(last.output) ?? (last.status === 'failed' ? 'failed' : null);
  return status ? { status, record: last.output } : null;
}

/**
 * The task's verify, said plainly: passed with the commands that judged it,
 * failed, or unverified — done, but checked by nothing, and never shown as passed.
 */
export function VerifyVerdict({ task }: { task: TaskDetail }) {
  const v = taskVerify(task);
  if (!v) return <span class="muted">not run yet</span>;
  if (v.status === 'unverified')
    return (
      <span data-verify="unverified">
        <span class="badge s-unverified">unverified</span> {UNVERIFIED_SUMMARY}
        <br />
        <span class="muted">To have tasks checked, {UNVERIFIED_HINT}.</span>
      </span>
    );
  const commands = verifyCommandsOf(v.record);
  if (v.status === 'passed')
    return (
      <span data-verify="passed">
        <span class="badge s-completed">passed</span>{' '}
        {commands.length > 0 && <span class="mono">{commands.join(', ')}</span>}
      </span>
    );
  return (
    <span data-verify="failed">
      <span class="badge s-failed">failed</span>{' '}
      {commands.length > 0 && <span class="mono">{commands.join(', ')}</span>}
    </span>
  );
}
