import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { ProbotOctokit } from 'probot';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { PHASES } from '../queue/phase.js';
import {
  currentRevisionCommit,
  findCheckRun,
  findDashboard,
  type PhaseRow,
  phaseRows,
  saveCheckRun,
  saveDashboard,
} from '../store/github.js';
import { githubErrorReason } from './octokit.js';
import { findProjectById, type GitHubProject } from './projects.js';

export const DASHBOARD_TITLE = 'Samgita dashboard';

export interface PhaseState {
  phase: string;
  counts: Record<string, number>;
  cost: number;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'cancelled' | null;
}

/** Pure: each phase's check-run state from task counts and the project's current phase. */
export function phaseStates(rows: PhaseRow[], current: string, projectStatus: string): PhaseState[] {
  const byPhase = new Map<string, PhaseState>();
  for (const r of rows) {
    const s = byPhase.get(r.phase) ?? { phase: r.phase, counts: {}, cost: 0, status: 'queued', conclusion: null };
    s.counts[r.status] = (s.counts[r.status] ?? 0) + r.n;
    s.cost += r.cost;
    byPhase.set(r.phase, s);
  }
  const order = (p: string) => (PHASES as readonly string[]).indexOf(p);
  const states = [...byPhase.values()].sort((a, b) => order(a.phase) - order(b.phase));
  for (const s of states) {
    const active = ['pending', 'blocked', 'queued', 'running'].reduce((n, k) => n + (s.counts[k] ?? 0), 0);
    const failed = (s.counts.failed ?? 0) + (s.counts.dead_letter ?? 0);
    if (active === 0 && failed > 0) Object.assign(s, { status: 'completed', conclusion: 'failure' });
    else if (active === 0) Object.assign(s, { status: 'completed', conclusion: 'success' });
    else if (projectStatus === 'cancelled' || projectStatus === 'archived')
      Object.assign(s, { status: 'completed', conclusion: 'cancelled' });
    else if (s.phase === current) Object.assign(s, { status: 'in_progress', conclusion: null });
  }
  return states;
}

function countsLine(c: Record<string, number>): string {
  return Object.entries(c)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

export function dashboardBody(project: GitHubProject, states: PhaseState[], statusUrl: string | null): string {
  const lines = [
    'This issue is kept current by Samgita. Comment `/samgita status`, `pause`, `resume`, `retry <task>` or `plan`.',
    '',
    `**Status:** ${project.status} · **Phase:** ${project.phase} · **Cost:** $${Number(project.cost_usd).toFixed(4)}`,
    '',
    '| Phase | State | Tasks | Cost |',
    '|---|---|---|---:|',
    ...states.map(
      (s) =>
        `| ${s.phase} | ${s.conclusion ?? s.status.replace('_', ' ')} | ${countsLine(s.counts)} | $${s.cost.toFixed(4)} |`,
    ),
  ];
  if (statusUrl) lines.push('', `[Live status page](${statusUrl})`);
  return lines.join('\n');
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/**
 * Mirrors a project's progress into GitHub: one check run per phase on the
 * commit of the current PRD revision, and the "Samgita dashboard" issue.
 * Writes only when something changed. Calls for one project are serialised
 * and coalesced: bursts of events cost one sync.
 */
export class ProgressReporter {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(
    private readonly deps: {
      pool: pg.Pool;
      octokit: (installationId: number) => Promise<ProbotOctokit>;
      publicUrl: string | null;
      log: Logger;
    },
  ) {}

  /** Syncs soon; returns when this request (or one that covers it) has finished. */
  schedule(projectId: string): Promise<void> {
    const current = this.running.get(projectId);
    if (current) {
      this.again.add(projectId);
      return current;
    }
    const p = (async () => {
      do {
        this.again.delete(projectId);
        try {
          await this.sync(projectId);
        } catch (err) {
          this.deps.log.warn(
            { project: projectId, err: githubErrorReason(err).message ?? errorMessage(err) },
            'progress sync failed',
          );
        }
      } while (this.again.has(projectId));
    })().finally(() => this.running.delete(projectId));
    this.running.set(projectId, p);
    return p;
  }

  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running.values()]);
  }

  async sync(projectId: string): Promise<void> {
    const project = await findProjectById(this.deps.pool, projectId);
    if (!project?.github_installation_id) return;
    const [owner, repo] = project.github_repo.split('/') as [string, string];
    const states = phaseStates(await phaseRows(this.deps.pool, projectId), project.phase, project.status);
    const octokit = await this.deps.octokit(project.github_installation_id);
    const statusUrl = this.deps.publicUrl ? `${this.deps.publicUrl}/projects/${projectId}` : null;

    const sha = await currentRevisionCommit(this.deps.pool, project.current_revision_id);
    if (sha && /^[0-9a-f]{40}$/.test(sha)) {
      for (const s of states) {
        const summary = `Tasks: ${countsLine(s.counts) || 'none'}\n\nCost: $${s.cost.toFixed(4)}`;
        const title = `${s.phase}: ${s.conclusion ?? s.status.replace('_', ' ')}`;
        const h = hash(`${s.status}|${s.conclusion}|${summary}`);
        const key = { projectId, headSha: sha, phase: s.phase };
        const row = await findCheckRun(this.deps.pool, key);
        const output = { title, summary };
        const common = {
          status: s.status,
          ...(s.conclusion ? { conclusion: s.conclusion, completed_at: new Date().toISOString() } : {}),
          ...(statusUrl ? { details_url: statusUrl } : {}),
          output,
        };
        if (!row) {
          const { data } = await octokit.rest.checks.create({
            owner,
            repo,
            name: `Samgita: ${s.phase}`,
            head_sha: sha,
            ...common,
          });
          await saveCheckRun(this.deps.pool, key, {
            checkRunId: data.id,
            status: s.status,
            conclusion: s.conclusion,
            summaryHash: h,
          });
        } else if (row.summary_hash !== h) {
          await octokit.rest.checks.update({ owner, repo, check_run_id: row.check_run_id, ...common });
          await saveCheckRun(this.deps.pool, key, { status: s.status, conclusion: s.conclusion, summaryHash: h });
        }
      }
    }

    const body = dashboardBody(project, states, statusUrl);
    const h = hash(body);
    const d = await findDashboard(this.deps.pool, projectId);
    if (!d) {
      const { data } = await octokit.rest.issues.create({ owner, repo, title: DASHBOARD_TITLE, body });
      await saveDashboard(this.deps.pool, projectId, { issueNumber: data.number, bodyHash: h });
    } else if (d.body_hash !== h) {
      await octokit.rest.issues.update({ owner, repo, issue_number: d.issue_number, body });
      await saveDashboard(this.deps.pool, projectId, { issueNumber: d.issue_number, bodyHash: h });
    }
  }
}
