/**
 * Verify: the verify commands (samgita.yaml's, else detected from the tree,
 * src/verify/detect.ts) run in the worktree. Pass: the branch is verified.
 * Fail: the output joins the continuity log and the loop goes back to Reason;
 * after `limits.rarv_loops` failures the model tier escalates, then the
 * attempt fails. Nothing to run: the task goes on as after a pass, recorded
 * as unverified — never as verified.
 */
import { endStep, startStepAt } from '../../store/agent-runs.js';
import { saveStep } from '../../store/task-attempts.js';
import { resolveVerifyCommands } from '../../verify/detect.js';
import type { AgentSettings } from '../agent-settings.js';
import { type Next, stop, stoppedAtCheckpoint } from '../decide/outcome.js';
import { asVerified, verifyRecord } from '../decide/verify.js';
import { type Attempt, outsideGate, type RarvState, type Workspace } from '../task-run.js';
import { runVerify, summarizeVerifyFailure, type VerifyResult, verifyOptions } from '../verify-commands.js';
import { sendBack } from './send-back.js';

export async function verify(a: Attempt, ws: Workspace, state: RarvState, settings: AgentSettings): Promise<Next> {
  const { ctx, task, config } = a;
  // Judged as the tree is now: the task's own work may have added the test setup (the bootstrap task
  // writes package.json). Kept on the workspace, so the next Reason names the commands that judge it.
  const resolved = await resolveVerifyCommands(config, ws.path);
  ws.verifyCommands = resolved.commands;
  const commands = resolved.commands;
  const { id } = await startStepAt(ctx.pool, a.agentRunId, task.id, state.loop, 'verify', {
    commands,
    source: resolved.source,
    found: resolved.found,
  });
  // No command: nothing is run (an empty run would "pass" without checking anything).
  const result: VerifyResult = commands.length
    ? await outsideGate(ctx, async () =>
        runVerify(
          ws.path,
          commands,
          await verifyOptions(
            config,
            { samgitaHome: ctx.samgitaHome, repo: task.working_path ?? ws.path, sandboxOff: ctx.sandboxOff },
            a.signal,
          ),
        ),
      )
    : { passed: false, steps: [] };
  for (const s of result.steps)
    a.logs.verify(`$ ${s.command} → ${s.timedOut ? 'timed out' : `exit ${s.exitCode}`}\n${s.output}`);
  const failure = commands.length && !result.passed ? summarizeVerifyFailure(result) : '';
  const record = verifyRecord(
    commands.map((c) => c.command),
    result.passed,
    failure,
  );
  if (record.status === 'unverified') a.logs.verify(`unverified: ${record.summary}`);
  await endStep(ctx.pool, id, record.status === 'failed' ? 'failed' : 'completed', { ...result, ...record });
  // Killed mid-run: the result says nothing about the work, and the task resumes at Verify.
  if (a.signal.aborted) return stop(stoppedAtCheckpoint(new Date()));
  if (record.status !== 'failed') {
    const verified = asVerified(record);
    state.checkpoint.verify = verified;
    await saveStep(ctx.pool, task.id, 'done', state.loop, state.checkpoint);
    return { kind: 'verified', verify: verified };
  }
  state.checkpoint.verify = record;
  return sendBack(a, state, settings, { failure });
}
