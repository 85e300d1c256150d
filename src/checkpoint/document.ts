/**
 * The project's state as files in its repository (refs/samgita/state): the
 * document, how it is written as readable files, and how it is read back.
 * Pure: no git, no database. One version of the format; a reader refuses a
 * newer one with the version it found, rather than guessing.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RARV_STEPS } from '../domain/states.js';

export const STATE_FORMAT = 'samgita-state/1';

const Tokens = z.object({
  input: z.number().int().nonnegative(),
  output: z.number().int().nonnegative(),
  cache_read: z.number().int().nonnegative(),
  cache_write: z.number().int().nonnegative(),
});
export type StateTokens = z.infer<typeof Tokens>;

const JsonObject = z.record(z.string(), z.unknown());

/** The project row as the state holds it (also the row shape store/checkpoint.ts reads, with more). */
export const StateProjectSchema = z.object({
  id: z.string().uuid(),
  name: z.string(),
  git_url: z.string(),
  default_branch: z.string().nullable(),
  source: z.enum(['local', 'api', 'github']),
  github_repo: z.string().nullable(),
  phase: z.string(),
  status: z.string(),
  status_reason: z.string().nullable(),
  perpetual_cycle: z.number().int().nonnegative(),
  integration_branch: z.string().nullable(),
  integration_head: z.string().nullable(),
  integration_verify: JsonObject.nullable(),
  config: JsonObject,
});

const Revision = z.object({
  commit_sha: z.string().nullable(),
  content_hash: z.string(),
  config_hash: z.string(),
  source: z.string(),
  prd: z.string(),
  config: JsonObject,
});

/** One requirement as the state holds it (also the row shape store/checkpoint.ts reads). */
export const StateRequirementSchema = z.object({
  key: z.string(),
  kind: z.string(),
  title: z.string(),
  body: z.string(),
  priority: z.string().nullable(),
  section_path: z.array(z.string()),
  line: z.number().int().nullable(),
  content_hash: z.string(),
  status: z.string(),
});

/** One task as the state holds it (also the row shape store/checkpoint.ts reads). */
export const StateTaskSchema = z.object({
  id: z.string().uuid(),
  key: z.string(),
  parent_key: z.string().nullable(),
  requirement_key: z.string().nullable(),
  title: z.string(),
  description: z.string(),
  type: z.string(),
  phase: z.string(),
  agent_type: z.string(),
  priority: z.number().int().nonnegative(),
  status: z.string(),
  depends_on: z.array(z.string()),
  payload: JsonObject,
  result: z.unknown().nullable(),
  error: z.unknown().nullable(),
  requirement_hash: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  max_attempts: z.number().int().positive(),
  rarv_step: z.enum(RARV_STEPS).nullable(),
  rarv_loop: z.number().int().nonnegative(),
  checkpoint: JsonObject,
  session_id: z.string().nullable(),
  branch: z.string().nullable(),
  head_sha: z.string().nullable(),
  pr_number: z.number().int().nullable(),
  pr_url: z.string().nullable(),
  merge_state: z.string().nullable(),
  merge_note: z.string().nullable(),
  integrated_sha: z.string().nullable(),
  tokens: Tokens,
  cost_usd: z.number().nonnegative(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  duration_ms: z.number().int().nullable(),
});
export type StateTask = z.infer<typeof StateTaskSchema>;

/** One memory as the state holds it (also the row shape store/checkpoint.ts reads). */
export const StateMemorySchema = z.object({
  task_key: z.string().nullable(),
  type: z.enum(['episodic', 'semantic', 'procedural']),
  content: z.string(),
  importance: z.number().min(0).max(1),
  inserted_at: z.string(),
});
export type StateMemory = z.infer<typeof StateMemorySchema>;

/** Which deployment (one Samgita database) holds the project: only it writes the ref and runs the tasks. */
const Owner = z.object({ deployment: z.string().uuid(), host: z.string() });
export type StateOwner = z.infer<typeof Owner>;

const ProjectFile = z.object({
  format: z.string(),
  owner: Owner,
  project: StateProjectSchema,
  revision: Revision.nullable(),
  cost: z.object({ usd: z.number().nonnegative(), tokens: Tokens }),
});
const RequirementsFile = z.object({ requirements: z.array(StateRequirementSchema) });
const MemoriesFile = z.object({ memories: z.array(StateMemorySchema) });

export interface ProjectState {
  /** The commit's time, not a file: a state that did not change writes the same tree (and no commit). */
  written_at: string;
  owner: StateOwner;
  project: z.infer<typeof StateProjectSchema>;
  revision: z.infer<typeof Revision> | null;
  requirements: z.infer<typeof StateRequirementSchema>[];
  tasks: StateTask[];
  memories: StateMemory[];
  cost: { usd: number; tokens: StateTokens };
}

/** The files of one state commit, by path in the tree. */
export type StateFiles = Record<string, string>;

/**
 * The state as readable files: JSON for machines (and diffs), Markdown for people.
 * One file per task and per task's memories, so a state commit adds objects only
 * for what changed (a busy project writes one every few seconds: the repository
 * must not grow by the whole plan each time).
 */
export function stateToFiles(state: ProjectState): StateFiles {
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  const files: StateFiles = {
    'README.md': summaryMarkdown(state),
    'project.json': json({
      format: STATE_FORMAT,
      owner: state.owner,
      project: state.project,
      revision: state.revision,
      cost: state.cost,
    }),
    'requirements.json': json({ requirements: state.requirements }),
  };
  for (const t of state.tasks) {
    files[`tasks/${fileName(t.key)}.json`] = json(t);
    const continuity = continuityOf(t);
    if (continuity.length) files[`continuity/${fileName(t.key)}.md`] = continuityMarkdown(t, continuity);
  }
  const byTask = new Map<string, StateMemory[]>();
  for (const m of state.memories) {
    const k = m.task_key === null ? '_project' : fileName(m.task_key);
    byTask.set(k, [...(byTask.get(k) ?? []), m]);
  }
  for (const [k, memories] of byTask) files[`memories/${k}.json`] = json({ memories });
  return files;
}

export class StateFormatError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
  }
}

/** Who holds the project, from project.json alone (what every state write checks first). */
export function ownerFromProjectFile(text: string): StateOwner {
  return parseFile({ 'project.json': text }, 'project.json', ProjectFile).owner;
}

/** Reads a state back from its files; a missing file, bad JSON or a wrong shape names the file and the field. */
export function stateFromFiles(files: StateFiles, writtenAt: string): ProjectState {
  const head = parseFile(files, 'project.json', ProjectFile);
  if (head.format !== STATE_FORMAT)
    throw new StateFormatError(
      `project.json is format ${JSON.stringify(head.format)}; this Samgita reads ${STATE_FORMAT} (upgrade Samgita to read it)`,
      'project.json',
    );
  const requirements = parseFile(files, 'requirements.json', RequirementsFile).requirements;
  const names = Object.keys(files).sort();
  const tasks = names.filter((n) => /^tasks\/[^/]+\.json$/.test(n)).map((n) => parseFile(files, n, StateTaskSchema));
  const memories = names
    .filter((n) => /^memories\/[^/]+\.json$/.test(n))
    .flatMap((n) => parseFile(files, n, MemoriesFile).memories)
    .sort((a, b) => a.inserted_at.localeCompare(b.inserted_at));
  const keys = new Set(tasks.map((t) => t.key));
  for (const t of tasks)
    for (const d of t.depends_on)
      if (!keys.has(d)) {
        const file = `tasks/${fileName(t.key)}.json`;
        throw new StateFormatError(`${file}: task ${t.key} depends on ${d}, which is not in the plan`, file);
      }
  return {
    written_at: writtenAt,
    owner: head.owner,
    project: head.project,
    revision: head.revision,
    requirements,
    tasks,
    memories,
    cost: head.cost,
  };
}

function parseFile<S extends z.ZodType>(files: StateFiles, name: string, schema: S): z.output<S> {
  const text = files[name];
  if (text === undefined) throw new StateFormatError(`${name} is missing from the state commit`, name);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StateFormatError(`${name} is not valid JSON: ${(err as Error).message}`, name);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StateFormatError(`${name}: ${issue.path.join('.') || '(root)'}: ${issue.message}`, name);
  }
  return parsed.data;
}

function continuityOf(t: Pick<StateTask, 'checkpoint'>): string[] {
  const c = t.checkpoint.continuity;
  return Array.isArray(c) ? c.filter((e): e is string => typeof e === 'string') : [];
}

/**
 * A task key as a file name: `/` becomes `~` (keys are `phase/slug`); a key with
 * other characters a file name should not hold gets them replaced and a hash of
 * the key appended, so two keys never share a file.
 */
export function fileName(key: string): string {
  const safe = key.replace(/\//g, '~').replace(/[^A-Za-z0-9._~-]+/g, '_');
  if (!key.includes('~') && safe === key.replace(/\//g, '~') && !safe.startsWith('.') && safe !== '_project')
    return safe;
  return `${safe.replace(/^\.+/, '_')}-${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}

function continuityMarkdown(t: StateTask, entries: string[]): string {
  const body = entries.map((e, i) => `## ${i + 1}\n\n\`\`\`\`text\n${e.replace(/````/g, '` ` ` `')}\n\`\`\`\`\n`);
  return `# ${t.key}: ${t.title}\n\nWhat earlier loops of this task learned (verify failures, review feedback, merge conflicts), oldest first; Reason reads it.\n\n${body.join('\n')}`;
}

function summaryMarkdown(s: ProjectState): string {
  const counts = new Map<string, number>();
  for (const t of s.tasks) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const line = [...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'no tasks';
  // What a person looks for: the tasks at work or in trouble (every task has its file under tasks/).
  const open = s.tasks.filter((t) => ['running', 'queued', 'failed', 'dead_letter'].includes(t.status));
  const rows = open
    .slice(0, 50)
    .map(
      (t) =>
        `| ${t.key.replace(/\|/g, '\\|')} | ${t.phase} | ${t.status} | ${t.rarv_step ?? ''} | ${t.attempts} | ${t.branch ?? ''} |`,
    );
  if (open.length > 50) rows.push(`| … and ${open.length - 50} more | | | | | |`);
  return `# Samgita state: ${s.project.name}

Held by deployment \`${s.owner.deployment}\` on ${s.owner.host}.
This ref (\`refs/samgita/state\`) is Samgita's checkpoint of the project; \`samgita import\`
rebuilds the project from it on another machine. Do not edit it by hand.

- phase: ${s.project.phase}, status: ${s.project.status}${s.project.status_reason ? ` (${s.project.status_reason})` : ''}
- PRD revision: ${s.revision?.commit_sha ?? s.revision?.content_hash ?? 'none'}
- tasks: ${line}
- memories: ${s.memories.length}
- cost so far: $${s.cost.usd.toFixed(4)}

Tasks at work or in trouble (every task: \`tasks/\`; continuity logs: \`continuity/\`):

| task | phase | status | step | attempts | branch |
|------|-------|--------|------|----------|--------|
${rows.join('\n')}
`;
}

/** Two states' plans compared, for `samgita restore` to show before it changes anything. */
export interface StateDiff {
  project: Array<{ field: 'phase' | 'status' | 'revision'; from: string; to: string }>;
  tasks: Array<
    | { kind: 'changed'; key: string; from: TaskPoint; to: TaskPoint }
    | { kind: 'added'; key: string; to: TaskPoint }
    | { kind: 'removed'; key: string; from: TaskPoint }
  >;
  memories: { from: number; to: number };
}
export interface TaskPoint {
  status: string;
  step: string | null;
  attempts: number;
}

/** What changes when `current` becomes `target`. Pure. */
export function diffStates(current: ProjectState, target: ProjectState): StateDiff {
  const project: StateDiff['project'] = [];
  if (current.project.phase !== target.project.phase)
    project.push({ field: 'phase', from: current.project.phase, to: target.project.phase });
  if (current.project.status !== target.project.status)
    project.push({ field: 'status', from: current.project.status, to: target.project.status });
  const rev = (s: ProjectState) => s.revision?.commit_sha ?? s.revision?.content_hash ?? 'none';
  if (rev(current) !== rev(target)) project.push({ field: 'revision', from: rev(current), to: rev(target) });
  const point = (t: StateTask): TaskPoint => ({ status: t.status, step: t.rarv_step, attempts: t.attempts });
  const now = new Map(current.tasks.map((t) => [t.key, t]));
  const then = new Map(target.tasks.map((t) => [t.key, t]));
  const tasks: StateDiff['tasks'] = [];
  for (const [key, t] of then) {
    const c = now.get(key);
    if (!c) tasks.push({ kind: 'added', key, to: point(t) });
    else if (c.status !== t.status || c.rarv_step !== t.rarv_step || c.attempts !== t.attempts)
      tasks.push({ kind: 'changed', key, from: point(c), to: point(t) });
  }
  for (const [key, c] of now) if (!then.has(key)) tasks.push({ kind: 'removed', key, from: point(c) });
  tasks.sort((a, b) => a.key.localeCompare(b.key));
  return { project, tasks, memories: { from: current.memories.length, to: target.memories.length } };
}
