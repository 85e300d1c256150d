import { execFileSync } from 'node:child_process';
import fs, { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveAgentTypes } from '../../src/agents/catalog.js';
import { integratedSince } from '../../src/git/commit.js';
import { planProject } from '../../src/planner/plan.js';
import { parsePrd } from '../../src/prd/parse.js';
import { buildContext, type ContextInput, withoutCriteria } from '../../src/runner/context.js';
import { prdExcerpt, withoutRepeats } from '../../src/runner/prd-excerpt.js';

const md = readFileSync(fileURLToPath(new URL('../fixtures/prd/samgita-prd.md', import.meta.url)), 'utf8');
const prd = parsePrd(md);
const plan = planProject({ prd, catalog: resolveAgentTypes({}) });

/** The Reason step's input for a planned task of the fixture PRD, as reason.ts builds it. */
function inputFor(key: string, extra: Partial<ContextInput> = {}): ContextInput {
  const t = plan.tasks.find((x) => x.key === key);
  if (!t) throw new Error(`no task ${key}`);
  const r = prd.requirements.find((x) => x.key === t.requirementKey);
  return {
    projectName: 'demo',
    task: {
      key: t.key,
      title: t.title,
      description: t.description,
      phase: t.phase,
      agentType: t.agentType,
      acceptanceCriteria: t.acceptanceCriteria,
      areas: t.areas,
    },
    requirement: r ? { key: r.key, title: r.title, body: r.text } : null,
    prdExcerpt: prdExcerpt(md, r?.key ?? null),
    continuity: [],
    memories: [],
    repo: { branch: 'samgita/x', changedFiles: [], recentCommits: ['0c4d8e2 Initial commit'] },
    verifyCommands: ['npm test'],
    ...extra,
  };
}

const count = (hay: string, needle: string) => hay.split(needle).length - 1;

describe('buildContext: one copy of everything', () => {
  it('an FR task: criteria, requirement and PRD row once; the rest of its PRD table added', () => {
    const c = buildContext(inputFor('development/fr-3-2-implement'));
    expect(count(c.prompt, 'Acceptance criteria:')).toBe(1);
    expect(count(c.prompt, '- Automated tests exercise the behaviour, including an error case')).toBe(1);
    expect(count(c.prompt, 'Task dependencies (blocked until parent completes)')).toBe(3); // title, description, criterion
    expect(c.prompt).not.toContain('| FR-3.2 |');
    expect(c.prompt).toContain('| FR-3.1 | Priority-based task ordering | P0 |');
    expect(c.prompt).toContain('| ID | Requirement | Priority |');
    // Only the requirement's own section of the PRD, not the PRD's next 6,000 characters.
    expect(c.prompt).not.toContain('FR-4.1');
    expect(c.sections.map((s) => s.name)).toEqual(['task', 'prd', 'areas', 'repo', 'verify']);
  });

  it('a section the description quotes whole (schema and notes) adds no PRD excerpt', () => {
    const c = buildContext(inputFor('architecture/data-model-project-design'));
    expect(c.sections.map((s) => s.name)).not.toContain('prd');
    expect(c.sections.map((s) => s.name)).not.toContain('requirement');
    expect(count(c.prompt, '├── git_url: string')).toBe(1);
    expect(count(c.prompt, 'git_url is the canonical identifier')).toBe(1);
  });

  it('no planned task repeats its acceptance criteria or its requirement', () => {
    for (const t of plan.tasks) {
      const c = buildContext(inputFor(t.key));
      expect(count(c.prompt, 'Acceptance criteria:'), t.key).toBeLessThanOrEqual(1);
      for (const crit of t.acceptanceCriteria)
        expect(count(c.prompt, `- ${crit}\n`), `${t.key}: ${crit}`).toBeLessThan(2);
      expect(
        c.sections.map((s) => s.name),
        t.key,
      ).not.toContain('requirement');
    }
  });

  it('a requirement the description does not quote (an agent-made breakdown) gets its own section', () => {
    const c = buildContext(
      inputFor('development/fr-3-2-implement', {
        task: {
          key: 'development/deps',
          title: 'Task dependencies',
          description: 'Block a task until its parents complete.',
          phase: 'development',
          agentType: 'eng-backend',
          acceptanceCriteria: ['A child waits for its parent'],
        },
      }),
    );
    expect(c.prompt).toContain(
      'The requirement this task serves:\nFR-3.2 — Task dependencies (blocked until parent completes)',
    );
    expect(c.prompt).toContain('Acceptance criteria:\n- A child waits for its parent');
  });

  it('a task without a requirement gets the start of the PRD', () => {
    const c = buildContext(inputFor('deployment/pipeline'));
    expect(c.prompt).toContain('The start of PRD.md, for what the product is:\n# Samgita');
  });
});

describe('buildContext: the working context', () => {
  it('says the areas, what was integrated since the base, and the verify commands', () => {
    const c = buildContext(
      inputFor('development/fr-3-2-implement', {
        integrated: {
          branch: 'samgita/integration',
          base: '0c4d8e2aa1b2c3d4e5f6',
          commits: ['3f2a9c1 Integrate development/fr-3-1-implement', '9b1e7d0 Implement FR-3.1'],
          moreCommits: true,
          files: ['src/queue/priority.ts'],
          moreFiles: 3,
        },
      }),
    );
    expect(c.sections.map((s) => s.name)).toEqual(['task', 'prd', 'areas', 'repo', 'integrated', 'verify']);
    const text = (name: string) => c.sections.find((s) => s.name === name)?.text ?? '';
    expect(text('areas')).toContain('service:task-queue');
    expect(text('integrated')).toContain('(at 0c4d8e2aa1b2)');
    expect(text('integrated')).toContain('merged onto samgita/integration');
    expect(text('integrated')).toContain(
      '  3f2a9c1 Integrate development/fr-3-1-implement\n  9b1e7d0 Implement FR-3.1\n  … and earlier ones',
    );
    expect(text('integrated')).toContain('Files they changed: src/queue/priority.ts and 3 more');
    expect(text('verify')).toContain('$ npm test');
  });

  it('says nothing of integration when nothing was integrated', () => {
    const none = buildContext(inputFor('development/fr-3-2-implement', { integrated: null }));
    expect(none.sections.map((s) => s.name)).not.toContain('integrated');
  });

  it('keeps to the budget and records every section', () => {
    const big = 'x'.repeat(40_000);
    const c = buildContext(
      inputFor('development/fr-3-2-implement', { continuity: [big], memories: [big], prdExcerpt: `# Big\n\n${big}` }),
      4000,
    );
    const byName = Object.fromEntries(c.sections.map((s) => [s.name, s]));
    expect(byName.continuity?.truncated).toBe(true);
    expect(byName.memories?.truncated).toBe(true);
    expect(byName.prd?.truncated).toBe(true);
    expect(c.tokens).toBeLessThan(4000);
    for (const s of c.sections) expect(s.tokens).toBe(Math.ceil(s.text.length / 4));
  });
});

describe('withoutCriteria / withoutRepeats', () => {
  it('drops only a criteria block that repeats the criteria', () => {
    const d = 'Do it.\n\nAcceptance criteria:\n- a\n- b';
    expect(withoutCriteria(d, ['a', 'b'])).toBe('Do it.');
    expect(withoutCriteria(d, ['a', 'c'])).toBe(d);
    expect(withoutCriteria(d, [])).toBe(d);
  });

  it('keeps what is not said, with its heading and table header', () => {
    const excerpt = '### Area\n\nIntro said here.\n\n| ID | What |\n|---|---|\n| A-1 | said row |\n| A-2 | new row |';
    expect(withoutRepeats(excerpt, 'Intro said here. A-1 said row')).toBe(
      '### Area\n\n| ID | What |\n|---|---|\n| A-2 | new row |',
    );
    expect(withoutRepeats(excerpt, 'Intro said here. A-1 said row A-2 new row')).toBe('');
    expect(withoutRepeats('### X\n\n**Notes:**\n- [ ] said', 'said')).toBe('');
  });
});

describe('integratedSince', () => {
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t',
      },
    }).trim();

  it('lists commits newest first and files, bounded; null without the branch or new work', async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-integrated-'));
    try {
      git(repo, 'init', '-q', '-b', 'main');
      git(repo, 'commit', '-q', '--allow-empty', '-m', 'base');
      const base = git(repo, 'rev-parse', 'HEAD');
      expect(await integratedSince(repo, base, 'samgita/integration')).toBeNull();
      git(repo, 'branch', 'samgita/integration');
      expect(await integratedSince(repo, base, 'samgita/integration')).toBeNull();
      git(repo, 'switch', '-q', 'samgita/integration');
      for (const n of [1, 2, 3]) {
        fs.writeFileSync(path.join(repo, `f${n}.txt`), `${n}\n`);
        git(repo, 'add', '.');
        git(repo, 'commit', '-q', '-m', `task ${n}`);
      }
      const all = await integratedSince(repo, base, 'samgita/integration');
      expect(all?.commits.map((c) => c.replace(/^\w+ /, ''))).toEqual(['task 3', 'task 2', 'task 1']);
      expect(all).toMatchObject({ moreCommits: false, files: ['f1.txt', 'f2.txt', 'f3.txt'], moreFiles: 0 });
      const few = await integratedSince(repo, base, 'samgita/integration', { maxCommits: 2, maxFiles: 1 });
      expect(few).toMatchObject({ moreCommits: true, files: ['f1.txt'], moreFiles: 2 });
      expect(few?.commits).toHaveLength(2);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });
});
