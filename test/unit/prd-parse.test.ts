import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isSamgitaError } from '../../src/errors.js';
import { parsePrd } from '../../src/prd/parse.js';
import { contentHash, slugify } from '../../src/prd/text.js';

const fixture = readFileSync(fileURLToPath(new URL('../fixtures/prd/samgita-prd.md', import.meta.url)), 'utf8');
const lines = fixture.split('\n');

describe('parsePrd on the Samgita PRD', () => {
  const prd = parsePrd(fixture);
  const byKey = new Map(prd.requirements.map((r) => [r.key, r]));

  it('reads the title and the section tree', () => {
    expect(prd.title).toBe('Samgita (संगीत) - Product Requirements Document');
    expect(prd.sections.map((s) => s.title)).toContain('Functional Requirements');
    const fr = prd.sections.find((s) => s.title === 'Functional Requirements');
    expect(fr?.children.map((c) => c.id)).toEqual(['FR-1', 'FR-2', 'FR-3', 'FR-4', 'FR-5', 'FR-6', 'FR-7', 'FR-8']);
    expect(prd.warnings).toEqual([]);
  });

  it('finds every FR row with its priority', () => {
    const fr = prd.requirements.filter((r) => r.kind === 'functional');
    const expected = lines.map((l) => /^\| (FR-\d+\.\d+) \|.*\| (P\d) \|$/u.exec(l)).filter((m) => m !== null);
    expect(expected.length).toBe(51);
    expect(fr.map((r) => r.key)).toEqual(expected.map((m) => m[1]));
    expect(fr.map((r) => r.priority)).toEqual(expected.map((m) => m[2]));
    expect(byKey.get('FR-1.4')).toMatchObject({
      title: 'Set PRD via file upload or textarea input',
      priority: 'P0',
      sectionPath: ['Functional Requirements', 'FR-1: Project Management'],
    });
    expect(byKey.get('FR-6.9')?.priority).toBe('P2');
  });

  it('records 1-based source lines', () => {
    for (const r of prd.requirements.filter((x) => x.kind === 'functional')) {
      expect(lines[r.line - 1]).toContain(`| ${r.key} |`);
    }
    const nfr = byKey.get('NFR-1/dashboard-update-latency');
    expect(lines[(nfr?.line ?? 0) - 1]).toContain('Dashboard update latency');
  });

  it('turns NFR tables into non-functional requirements with targets', () => {
    const nfr = prd.requirements.filter((r) => r.kind === 'non_functional');
    expect(nfr.length).toBe(17);
    expect(byKey.get('NFR-1/dashboard-update-latency')?.attributes).toEqual({
      Metric: 'Dashboard update latency',
      Target: '<100ms',
    });
    expect(byKey.get('NFR-2/uptime')?.attributes.Target).toBe('99.9%');
    expect(byKey.get('NFR-4/network-encryption')?.attributes.Implementation).toBe('TLS for API, Erlang distribution');
    expect(byKey.get('NFR-1/api-response-time-p95')?.text).toContain('Target: <200ms');
  });

  it('extracts acceptance items, data model and API blocks, and skips context-only sections', () => {
    expect(byKey.get('goals/distributed-execution')?.kind).toBe('acceptance');
    expect(byKey.get('success-criteria/functional-parity')).toMatchObject({
      kind: 'acceptance',
      title: 'Functional parity',
    });
    expect(prd.requirements.filter((r) => r.kind === 'data_model').map((r) => r.key)).toEqual([
      'data-model/project',
      'data-model/task',
      'data-model/agentrun',
      'data-model/artifact',
      'data-model/memory',
      'data-model/snapshot',
    ]);
    expect(byKey.get('data-model/project')?.text).toContain('git_url: string');
    expect(byKey.get('data-model/project')?.text).toContain('canonical identifier');
    expect(byKey.get('api/projects')?.text).toContain('POST /api/projects/:id/pause');
    expect(byKey.get('api/webhooks')?.kind).toBe('api');
    const keys = [...byKey.keys()];
    expect(keys.some((k) => k.startsWith('executive-summary'))).toBe(false);
    expect(keys.some((k) => k.includes('non-goals'))).toBe(false);
    expect(keys.some((k) => k.startsWith('appendix'))).toBe(false);
    // fenced code in the appendix (RARV diagram) is ignored
    expect(prd.requirements.some((r) => r.text.includes('RARV CYCLE'))).toBe(false);
    expect(byKey.get('technical-constraints/required')?.kind).toBe('section');
    expect(byKey.get('user-personas/solo-developer')?.kind).toBe('section');
  });

  it('has unique keys and is deterministic', () => {
    const keys = prd.requirements.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(parsePrd(fixture)).toEqual(prd);
  });

  it('hashes are whitespace-insensitive: reflowing the PRD changes nothing', () => {
    const reflowed = fixture
      .replace(
        /\| Set PRD via file upload or textarea input \|/u,
        '|   Set PRD via file   upload or textarea input    |',
      )
      .replace(
        'Samgita is a distributed multi-agent orchestration system that transforms',
        'Samgita is a distributed multi-agent orchestration\nsystem that transforms',
      )
      .replace('- Wants to prototype ideas quickly', '- Wants to prototype\n  ideas quickly');
    const again = parsePrd(reflowed);
    expect(again.requirements.map((r) => [r.key, r.contentHash])).toEqual(
      prd.requirements.map((r) => [r.key, r.contentHash]),
    );
  });

  it('changes only the edited requirement hash', () => {
    const edited = parsePrd(
      fixture.replace('| Edit PRD mid-execution | P0 |', '| Edit PRD mid-execution without losing work | P0 |'),
    );
    const changed = edited.requirements
      .filter((r) => byKey.get(r.key)?.contentHash !== r.contentHash)
      .map((r) => r.key);
    expect(changed).toEqual(['FR-1.5']);
  });
});

describe('parsePrd on other documents', () => {
  it('rejects an empty PRD with PRD_INVALID', () => {
    for (const empty of ['', '  \n\n\t']) {
      try {
        parsePrd(empty);
        expect.unreachable();
      } catch (err) {
        expect(isSamgitaError(err, 'PRD_INVALID')).toBe(true);
      }
    }
  });

  it('turns a heading-less document into one section requirement', () => {
    const prd = parsePrd('Build a todo app with due dates.\n');
    expect(prd.requirements).toHaveLength(1);
    expect(prd.requirements[0]).toMatchObject({
      key: 'prd',
      kind: 'section',
      text: 'Build a todo app with due dates.',
    });
  });

  it('reads bullet requirements, ID lists and acceptance criteria', () => {
    const md = [
      '# Todo',
      '',
      '## Features',
      '',
      '- Users can add a todo',
      '- **Due dates**: todos can have a due date (P1)',
      '- FR-9: export as CSV',
      '',
      '### Acceptance criteria',
      '',
      '- A todo survives a restart',
      '',
      '```js',
      'console.log("ignored")',
      '```',
      '',
      '## Overview',
      '',
      'Just context.',
    ].join('\n');
    const prd = parsePrd(md);
    expect(prd.requirements.map((r) => [r.key, r.kind, r.priority])).toEqual([
      ['features/users-can-add-a-todo', 'bullet', null],
      ['features/due-dates', 'bullet', 'P1'],
      ['FR-9', 'functional', null],
      ['acceptance-criteria/a-todo-survives-a-restart', 'acceptance', null],
    ]);
  });

  it('reads tables with an ID column but other header names, and warns about duplicate IDs', () => {
    const md = [
      '# X',
      '## Requirements',
      '| Req ID | Description | Prio |',
      '|---|---|---|',
      '| R-1 | Login | High |',
      '| R-1 | Logout | low |',
    ].join('\n');
    const prd = parsePrd(md);
    expect(prd.requirements.map((r) => [r.key, r.title, r.priority])).toEqual([
      ['R-1', 'Login', 'P0'],
      ['R-1~2', 'Logout', 'P2'],
    ]);
    expect(prd.warnings[0]).toMatch(/duplicate requirement key "R-1"/u);
  });

  it('slugs and hashes', () => {
    expect(slugify('FR-1: Project Management')).toBe('fr-1-project-management');
    expect(slugify('Goals & Non-Goals')).toBe('goals-and-non-goals');
    expect(contentHash('a  b\nc')).toBe(contentHash(' a b c '));
  });
});
