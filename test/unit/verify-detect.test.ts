import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/samgita-yaml/index.js';
import type { SamgitaConfig } from '../../src/config/samgita-yaml/schema.js';
import {
  chooseVerifyCommands,
  describeVerifyResolution,
  detectVerifyCommands,
  makeTargets,
  resolveVerifyCommands,
  resolveVerifyCommandsAtCommit,
  type TreeView,
} from '../../src/verify/detect.js';
import {
  countVerifyStatuses,
  describeVerifyRecord,
  UNVERIFIED_SUMMARY,
  verifyStatusOf,
} from '../../src/verify/status.js';

/** A tree from `{ name: content }`; a name ending in `/` is a directory, `tests/x.py` a file in tests/. */
function tree(entries: Record<string, string>): TreeView {
  const t: TreeView = { files: [], dirs: [], testsDir: [], contents: {} };
  for (const [name, content] of Object.entries(entries)) {
    if (name.endsWith('/')) t.dirs.push(name.slice(0, -1));
    else if (name.startsWith('tests/')) {
      if (!t.dirs.includes('tests')) t.dirs.push('tests');
      t.testsDir.push(name.slice('tests/'.length));
    } else {
      t.files.push(name);
      (t.contents as Record<string, string>)[name] = content;
    }
  }
  return t;
}

const cmds = (t: TreeView) => detectVerifyCommands(t).commands.map((c) => `${c.name}: ${c.command}`);
const pkg = (o: Record<string, unknown>) => JSON.stringify(o);
const NPM_STUB = 'echo "Error: no test specified" && exit 1';

describe('detectVerifyCommands: package.json', () => {
  it('runs the test, lint and build scripts, in install, build, lint, test order', () => {
    const t = tree({ 'package.json': pkg({ scripts: { test: 'node --test', lint: 'biome check', build: 'tsc' } }) });
    expect(cmds(t)).toEqual(['build: npm run build', 'lint: npm run lint', 'test: npm test']);
    expect(detectVerifyCommands(t).found).toEqual(['package.json']);
  });

  it("ignores npm's default test stub: it checks nothing", () => {
    expect(cmds(tree({ 'package.json': pkg({ scripts: { test: NPM_STUB } }) }))).toEqual([]);
    expect(cmds(tree({ 'package.json': pkg({ scripts: { test: NPM_STUB, lint: 'eslint .' } }) }))).toEqual([
      'lint: npm run lint',
    ]);
  });

  it('installs with npm ci when a lockfile exists, npm install otherwise, only with dependencies', () => {
    const scripts = { test: 'vitest run' };
    expect(cmds(tree({ 'package.json': pkg({ scripts, devDependencies: { vitest: '^3' } }) }))).toEqual([
      'install: npm install',
      'test: npm test',
    ]);
    expect(
      cmds(tree({ 'package.json': pkg({ scripts, dependencies: { x: '1' } }), 'package-lock.json': '{}' })),
    ).toEqual(['install: npm ci', 'test: npm test']);
    // No dependencies: nothing to install, even with a lockfile.
    expect(cmds(tree({ 'package.json': pkg({ scripts, dependencies: {} }), 'package-lock.json': '{}' }))).toEqual([
      'test: npm test',
    ]);
  });

  it('does not install when nothing would check the work', () => {
    expect(cmds(tree({ 'package.json': pkg({ dependencies: { x: '1' }, scripts: { start: 'node .' } }) }))).toEqual([]);
  });

  it('ignores an unreadable package.json and empty scripts', () => {
    expect(cmds(tree({ 'package.json': '{ not json' }))).toEqual([]);
    expect(cmds(tree({ 'package.json': pkg({ scripts: { test: '  ' } }) }))).toEqual([]);
    expect(cmds(tree({ 'package.json': '[]' }))).toEqual([]);
  });
});

describe('detectVerifyCommands: Python', () => {
  const PYTEST = ['test: python3 -m pytest -q'];

  it('finds pytest configured in pyproject.toml, setup.cfg, tox.ini, or a pytest.ini', () => {
    expect(cmds(tree({ 'pyproject.toml': '[tool.pytest.ini_options]\naddopts = "-q"\n' }))).toEqual(PYTEST);
    expect(cmds(tree({ 'pyproject.toml': '[project.optional-dependencies]\ndev = ["pytest>=8"]\n' }))).toEqual(PYTEST);
    expect(cmds(tree({ 'setup.cfg': '[tool:pytest]\ntestpaths = tests\n' }))).toEqual(PYTEST);
    expect(cmds(tree({ 'tox.ini': '[testenv]\ncommands = pytest\n' }))).toEqual(PYTEST);
    expect(cmds(tree({ 'pytest.ini': '' }))).toEqual(PYTEST);
    expect(detectVerifyCommands(tree({ 'setup.cfg': '[tool:pytest]\n' })).found).toEqual(['setup.cfg']);
  });

  it('finds a tests/ directory of test_*.py files', () => {
    const t = tree({ 'tests/test_greet.py': 'def test_x(): pass\n', 'greet.py': '' });
    expect(cmds(t)).toEqual(PYTEST);
    expect(detectVerifyCommands(t).found).toEqual(['tests/']);
    expect(cmds(tree({ 'tests/helpers.py': '', 'tests/data.json': '' }))).toEqual([]);
  });

  it('needs pytest in the project files: a pyproject.toml without it is not enough', () => {
    expect(cmds(tree({ 'pyproject.toml': '[project]\nname = "x"\n', 'setup.cfg': '[metadata]\nname = x\n' }))).toEqual(
      [],
    );
  });
});

describe('detectVerifyCommands: Go, Rust, Makefile', () => {
  it('Go: go vet as lint, go test', () => {
    expect(cmds(tree({ 'go.mod': 'module example.com/x\n' }))).toEqual(['lint: go vet ./...', 'test: go test ./...']);
  });

  it('Rust: cargo test', () => {
    expect(cmds(tree({ 'Cargo.toml': '[package]\nname = "x"\n' }))).toEqual(['test: cargo test']);
  });

  it('Makefile targets test, lint and build', () => {
    const mk = 'build:\n\tcc -o x x.c\nlint: build\n\tcppcheck .\n.PHONY: test\ntest:\n\t./x --self-test\n';
    const t = tree({ Makefile: mk });
    expect(cmds(t)).toEqual(['build: make build', 'lint: make lint', 'test: make test']);
    expect(detectVerifyCommands(t).found).toEqual(['Makefile']);
    expect(cmds(tree({ Makefile: 'all:\n\tcc x.c\n' }))).toEqual([]);
  });

  it('reads rule lines only: not assignments, recipes or comments', () => {
    expect([...makeTargets('test := 1\nlint = a:b\n# build:\n\tbuild: x\ncheck test:: deps\nall: ; @true\n')]).toEqual([
      'check',
      'test',
      'all',
    ]);
    expect(makeTargets('test lint:\r\n\ttrue\r\n')).toEqual(new Set(['test', 'lint']));
  });

  it("a Makefile target replaces the ecosystem's command of that name, and the rest stays", () => {
    const t = tree({
      'package.json': pkg({ scripts: { test: 'jest', lint: 'eslint .' }, devDependencies: { jest: '1' } }),
      Makefile: 'test:\n\tnpm test -- --ci\n',
    });
    expect(cmds(t)).toEqual(['install: npm install', 'lint: npm run lint', 'test: make test']);
    expect(detectVerifyCommands(t).found).toEqual(['package.json', 'Makefile']);
  });

  it('several ecosystems in one tree each contribute their commands', () => {
    const t = tree({ 'package.json': pkg({ scripts: { test: 'node --test' } }), 'go.mod': 'module x\n' });
    expect(cmds(t)).toEqual(['lint: go vet ./...', 'test: npm test', 'test: go test ./...']);
    expect(detectVerifyCommands(t).found).toEqual(['go.mod', 'package.json']);
  });

  it('an empty tree has nothing to run', () => {
    expect(detectVerifyCommands(tree({ 'PRD.md': '# x', 'README.md': '' }))).toEqual({ commands: [], found: [] });
  });
});

function configWith(verify: Partial<SamgitaConfig['verify']>): SamgitaConfig {
  const c = defaultConfig();
  return { ...c, verify: { ...c.verify, ...verify } };
}

describe('chooseVerifyCommands: precedence', () => {
  const node = tree({ 'package.json': pkg({ scripts: { test: 'node --test' } }) });

  it("samgita.yaml's commands win over anything detected, when any is set", () => {
    const r = chooseVerifyCommands(configWith({ test: 'make check' }).verify, node);
    expect(r).toEqual({
      commands: [{ name: 'test', command: 'make check' }],
      source: 'config',
      found: ['samgita.yaml'],
    });
    const lintOnly = chooseVerifyCommands(configWith({ lint: 'true' }).verify, node);
    expect(lintOnly.commands).toEqual([{ name: 'lint', command: 'true' }]);
  });

  it('detects when samgita.yaml names none', () => {
    expect(chooseVerifyCommands(defaultConfig().verify, node)).toEqual({
      commands: [{ name: 'test', command: 'npm test' }],
      source: 'detected',
      found: ['package.json'],
    });
  });

  it('none: nothing configured or found', () => {
    expect(chooseVerifyCommands(defaultConfig().verify, tree({ 'PRD.md': '' }))).toEqual({
      commands: [],
      source: 'none',
      found: [],
    });
  });

  it('says which commands and where they came from', () => {
    expect(describeVerifyResolution(chooseVerifyCommands(defaultConfig().verify, node))).toBe(
      'verify: npm test (detected from package.json)',
    );
    expect(
      describeVerifyResolution(chooseVerifyCommands(configWith({ install: 'npm ci', test: 'npm test' }).verify, node)),
    ).toBe('verify: npm ci, npm test (from samgita.yaml)');
    expect(describeVerifyResolution({ commands: [], source: 'none', found: [] })).toBe(
      'verify: none found — tasks will be recorded as unverified; set verify: in samgita.yaml',
    );
  });
});

describe('resolveVerifyCommands: reading a directory and a commit', () => {
  const sh = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, {
      cwd,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@x',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@x',
      },
    })
      .toString()
      .trim();

  it('reads the files of a checked-out tree, and of a commit regardless of the working tree', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'samgita-detect-'));
    sh(dir, 'init', '-q', '-b', 'main');
    writeFileSync(path.join(dir, 'PRD.md'), '# x\n');
    mkdirSync(path.join(dir, 'tests'));
    writeFileSync(path.join(dir, 'tests', 'test_x.py'), 'def test_x(): pass\n');
    sh(dir, 'add', '.');
    sh(dir, 'commit', '-q', '-m', 'python');
    const first = sh(dir, 'rev-parse', 'HEAD');
    writeFileSync(path.join(dir, 'package.json'), pkg({ scripts: { test: 'node --test' } }));
    writeFileSync(path.join(dir, 'Makefile'), 'lint:\n\ttrue\n');

    // The directory as it is now: the uncommitted package.json and Makefile count.
    expect(await resolveVerifyCommands(defaultConfig(), dir)).toEqual({
      commands: [
        { name: 'lint', command: 'make lint' },
        { name: 'test', command: 'npm test' },
        { name: 'test', command: 'python3 -m pytest -q' },
      ],
      source: 'detected',
      found: ['Makefile', 'package.json', 'tests/'],
    });
    // The commit: only what it holds.
    expect(await resolveVerifyCommandsAtCommit(defaultConfig(), dir, first)).toEqual({
      commands: [{ name: 'test', command: 'python3 -m pytest -q' }],
      source: 'detected',
      found: ['tests/'],
    });
    sh(dir, 'add', '.');
    sh(dir, 'commit', '-q', '-m', 'node');
    const second = sh(dir, 'rev-parse', 'HEAD');
    expect((await resolveVerifyCommandsAtCommit(defaultConfig(), dir, second)).found).toEqual([
      'Makefile',
      'package.json',
      'tests/',
    ]);
    // samgita.yaml's commands win without looking.
    expect((await resolveVerifyCommands(configWith({ test: 'true' }), dir)).source).toBe('config');
    // A directory with nothing (or no directory at all): none.
    const empty = mkdtempSync(path.join(os.tmpdir(), 'samgita-detect-'));
    expect((await resolveVerifyCommands(defaultConfig(), empty)).source).toBe('none');
    expect((await resolveVerifyCommands(defaultConfig(), path.join(empty, 'gone'))).source).toBe('none');
  });
});

describe('verify status', () => {
  it('reads the status of a record, old records by their passed flag', () => {
    expect(verifyStatusOf({ passed: false, status: 'unverified', summary: UNVERIFIED_SUMMARY, commands: [] })).toBe(
      'unverified',
    );
    expect(verifyStatusOf({ passed: true, status: 'passed', summary: 'ok', commands: ['npm test'] })).toBe('passed');
    expect(verifyStatusOf({ passed: true, summary: 'all verify commands passed' })).toBe('passed');
    expect(verifyStatusOf({ passed: false, summary: 'x' })).toBe('failed');
    expect(verifyStatusOf(null)).toBeNull();
    expect(verifyStatusOf('passed')).toBeNull();
  });

  it('never describes unverified work with the word passed', () => {
    const unverified = describeVerifyRecord({ passed: false, status: 'unverified', summary: UNVERIFIED_SUMMARY });
    expect(unverified).toBe('unverified: no verify command configured or found');
    expect(unverified).not.toMatch(/pass/);
    expect(
      describeVerifyRecord({ passed: true, status: 'passed', summary: 's', commands: ['npm test', 'npm run lint'] }),
    ).toBe('passed: npm test, npm run lint');
    expect(describeVerifyRecord({ passed: false, status: 'failed', summary: 'Verify step `test` exited with 1' })).toBe(
      'failed: Verify step `test` exited with 1',
    );
    expect(describeVerifyRecord(undefined)).toBe('not run');
  });

  it('counts tasks per status', () => {
    expect(countVerifyStatuses(['passed', 'unverified', 'unverified', null, 'failed'])).toEqual({
      passed: 1,
      failed: 1,
      unverified: 2,
      not_run: 1,
    });
  });
});
