import type { EventKind } from '../../../src/domain/events.js';
import type { ProjectStatus, TaskStatus } from '../../../src/domain/states.js';

// The vocabulary is the server's own (one source, bundled into the page).
export type { EventKind } from '../../../src/domain/events.js';
export {
  PHASES,
  PROJECT_STATUSES,
  type ProjectStatus,
  RETRYABLE_TASK_STATUSES,
  TASK_STATUSES,
  type TaskStatus,
} from '../../../src/domain/states.js';

export interface EventRow {
  id: number;
  project_id: string | null;
  kind: EventKind;
  subject_type: string;
  subject_id: string | null;
  actor_type: string;
  actor_id: string | null;
  data: Record<string, unknown>;
  created_at: string;
}

export interface UiProject {
  id: string;
  name: string;
  git_url: string;
  source: string;
  phase: string;
  status: ProjectStatus;
  status_reason: string | null;
  cost_usd: number;
  tokens_total: number;
  tasks_total: number;
  tasks_done: number;
  tasks_running: number;
  tasks_failed: number;
  agents_active: number;
  updated_at: string;
}

export interface ProjectDetail {
  id: string;
  name: string;
  git_url: string;
  working_path: string | null;
  /** The server is cloning the repository (or failed to); null once working_path is set. */
  clone: { state: 'cloning' | 'failed'; error: string | null } | null;
  default_branch: string | null;
  source: string;
  phase: string;
  status: ProjectStatus;
  status_reason: string | null;
  prd_content: string | null;
  cost_usd: number;
  tokens_total: number;
  input_tokens: number;
  output_tokens: number;
  task_counts: Record<string, number>;
  tasks_total: number;
  updated_at: string;
  provider_wait: ProviderWait | null;
  integration: Integration | null;
}

/** Where the product is (GET /api/projects/:id → integration). */
export interface Integration {
  branch: string;
  head: string | null;
  verify: {
    head: string;
    status: 'passed' | 'failed' | 'unverified';
    commands: string[];
    summary: string;
    at: string;
  } | null;
  queue: Array<{
    task_id: string;
    key: string;
    state: 'waiting' | 'merging' | 'sent_back';
    note: string | null;
    since: string;
  }>;
}

/** A provider outage holding every runner back (GET /api/projects/:id → provider_wait). */
export interface ProviderWait {
  kind: 'rate_limit' | 'overloaded' | 'server_error';
  until: string;
  since: string;
  failures: number;
  message: string;
  reason: string;
}

export interface Task {
  id: string;
  project_id: string;
  requirement_id: string | null;
  key: string;
  title: string;
  type: string;
  phase: string;
  agent_type: string;
  priority: number;
  status: TaskStatus;
  attempts: number;
  max_attempts: number;
  rarv_step: string | null;
  branch: string | null;
  pr_number: number | null;
  pr_url: string | null;
  tokens_used: number;
  cost_usd: number;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  updated_at: string;
}

export interface RarvStep {
  id: number;
  agent_run_id: string;
  loop: number;
  step: string;
  status: string;
  input: unknown;
  output: unknown;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  started_at: string;
  ended_at: string | null;
}

export interface AgentRun {
  id: string;
  agent_type: string;
  node: string;
  model: string | null;
  attempt: number;
  status: string;
  total_tokens: number;
  cost_usd: number;
  started_at: string;
  ended_at: string | null;
  error: unknown;
}

export interface TaskDetail extends Task {
  description: string;
  result: unknown;
  error: unknown;
  head_sha: string | null;
  rarv_loop: number;
  dependencies: Array<{ id: string; key: string; title: string; status: string }>;
  rarv_steps: RarvStep[];
  agent_runs: AgentRun[];
}

export interface Requirement {
  id: string;
  key: string;
  kind: string;
  title: string;
  body: string;
  priority: string | null;
  section_path: string[];
  line: number | null;
}

export interface UiAgent {
  id: string;
  project_id: string;
  project_name: string;
  agent_type: string;
  status: string;
  model: string | null;
  node: string;
  runner_host: string | null;
  runner_name: string | null;
  runner_sandbox: string | null;
  task_id: string | null;
  task_key: string | null;
  task_title: string | null;
  rarv_loop: number | null;
  attempt: number;
  total_tokens: number;
  cost_usd: number;
  started_at: string;
  ended_at: string | null;
  elapsed_ms: number;
}

export interface CostRow {
  key: string;
  name?: string;
  cost_usd: number;
  tokens: number;
  input_tokens: number;
  output_tokens: number;
}

export interface UiCosts {
  total: CostRow;
  by_project: CostRow[];
  by_phase: CostRow[];
  by_agent_type: CostRow[];
  by_day: CostRow[];
}

export interface PlanPreview {
  summary: { create: number; change: number; cancel: number; total: number; text: string };
  actions: Array<{
    type: string;
    key: string;
    phase: string;
    title: string | null;
    agent_type: string | null;
    detail: string;
  }>;
  diff: string;
  warnings: string[];
  save: { allowed: boolean; via: 'api' | 'github'; message: string | null };
}

export interface LogLine {
  id: number;
  stream: string;
  line: string;
  inserted_at: string;
}
