/**
 * Which commands judge a task's work. samgita.yaml's `verify:` wins when it
 * names any command; otherwise the commands are detected from the tree
 * itself (package.json scripts, pytest, Go, Rust, Makefile targets), so a
 * project is verified by default instead of every task passing unchecked.
 * When nothing is found the work is recorded as unverified (src/verify/status.ts).
 *
 * `detectVerifyCommands` is pure: it decides from a `TreeView` (the root's
 * entries and the contents of the few files that matter). The wrappers read
 * one from a checked-out directory (a task's worktree, the merge queue's) or
 * from a commit (what `samgita plan` and `run` show, read with git, never
 * from the working tree).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SamgitaConfig } from '../config/samgita-yaml/schema.js';
import { tryGit } from '../git/git.js';
import { readFileAtCommit } from '../git/repo.js';
import type { VerifyCommand } from '../runner/verify-commands.js';

export type VerifySource = 'config' | 'detected' | 'none';

export interface VerifyResolution {
  commands: VerifyCommand[];
  source: VerifySource;
  /** Where the commands came from: `samgita.yaml`, or the files they were detected from (`package.json`, `tests/`). */
  found: string[];
}

/** Root files whose content detection reads (others only count by their presence). */
export const CONTENT_FILES = [
  'package.json',
  'pyproject.toml',
  'setup.cfg',
  'tox.ini',
  'Makefile',
  'makefile',
  'GNUmakefile',
] as const;
export type ContentFile = (typeof CONTENT_FILES)[number];

/** What detection looks at in a tree. */
export interface TreeView {
  /** Names of the files at the root. */
  files: string[];
  /** Names of the directories at the root. */
  dirs: string[];
  /** Names of the files directly in `tests/` (empty without one). */
  testsDir: string[];
  /** The contents of the CONTENT_FILES present at the root. */
  contents: Partial<Record<ContentFile, string>>;
}

const NAMES = ['install', 'build', 'lint', 'test'] as const;
type Name = (typeof NAMES)[number];

interface Found {
  name: Name;
  command: string;
  from: string;
}

/** npm init's placeholder: a test script that only fails. It checks nothing, so it is not a verify command. */
const NPM_TEST_STUB = /no test specified/i;

/**
 * The verify commands a tree asks for, in running order (install, build,
 * lint, test; several ecosystems in one tree each contribute theirs). A
 * Makefile's `test:`/`lint:`/`build:` target replaces the ecosystems'
 * command of that name: it is the project's own word on how to run it.
 * Install commands are kept only next to a check: installing alone judges nothing.
 */
export function detectVerifyCommands(tree: TreeView): { commands: VerifyCommand[]; found: string[] } {
  const ecosystems = [...fromPackageJson(tree), ...fromPython(tree), ...fromGo(tree), ...fromRust(tree)];
  const make = fromMakefile(tree);
  const overridden = new Set(make.map((m) => m.name));
  const all = [...ecosystems.filter((c) => !overridden.has(c.name)), ...make];
  if (!all.some((c) => c.name !== 'install')) return { commands: [], found: [] };
  const ordered = NAMES.flatMap((n) => all.filter((c) => c.name === n));
  const found: string[] = [];
  for (const c of ordered) if (!found.includes(c.from)) found.push(c.from);
  return { commands: ordered.map(({ name, command }) => ({ name, command })), found };
}

/** samgita.yaml's commands, or null when it names none (then the tree decides). */
export function configuredVerifyCommands(verify: SamgitaConfig['verify']): VerifyResolution | null {
  const commands: VerifyCommand[] = [];
  for (const name of NAMES) {
    const command = verify[name];
    if (command) commands.push({ name, command });
  }
  return commands.length ? { commands, source: 'config', found: ['samgita.yaml'] } : null;
}

/** Precedence: samgita.yaml's commands, then the detected ones, else none. Pure. */
export function chooseVerifyCommands(verify: SamgitaConfig['verify'], tree: TreeView): VerifyResolution {
  const configured = configuredVerifyCommands(verify);
  if (configured) return configured;
  const detected = detectVerifyCommands(tree);
  return detected.commands.length ? { ...detected, source: 'detected' } : { commands: [], source: 'none', found: [] };
}

/** The line under the plan: which commands will judge the work, and where they came from. */
export function describeVerifyResolution(r: VerifyResolution): string {
  const list = r.commands.map((c) => c.command).join(', ');
  if (r.source === 'config') return `verify: ${list} (from samgita.yaml)`;
  if (r.source === 'detected') return `verify: ${list} (detected from ${r.found.join(', ')})`;
  return 'verify: none found — tasks will be recorded as unverified; set verify: in samgita.yaml';
}

// ---------------------------------------------------------------------------
// The rules, one per ecosystem
// ---------------------------------------------------------------------------

function fromPackageJson(tree: TreeView): Found[] {
  const text = tree.contents['package.json'];
  if (text === undefined) return [];
  // A package.json npm cannot read gives no command that could pass.
  const pkg = parseJson(text);
  if (!isRecord(pkg)) return [];
  const scripts = isRecord(pkg.scripts) ? pkg.scripts : {};
  const script = (name: string) => {
    const s = scripts[name];
    return typeof s === 'string' && s.trim() ? s : null;
  };
  const from = 'package.json';
  const out: Found[] = [];
  const hasDeps = ['dependencies', 'devDependencies', 'optionalDependencies'].some(
    (k) => isRecord(pkg[k]) && Object.keys(pkg[k]).length > 0,
  );
  if (hasDeps) {
    // `npm ci` installs exactly what the lockfile says, and fails if it is out of date.
    const locked = tree.files.includes('package-lock.json') || tree.files.includes('npm-shrinkwrap.json');
    out.push({ name: 'install', command: locked ? 'npm ci' : 'npm install', from });
  }
  if (script('build')) out.push({ name: 'build', command: 'npm run build', from });
  if (script('lint')) out.push({ name: 'lint', command: 'npm run lint', from });
  const test = script('test');
  if (test && !NPM_TEST_STUB.test(test)) out.push({ name: 'test', command: 'npm test', from });
  return out;
}

/** pytest: configured in a Python project file, or test_*.py files where it finds them. */
function fromPython(tree: TreeView): Found[] {
  const from = pytestEvidence(tree);
  return from ? [{ name: 'test', command: 'python3 -m pytest -q', from }] : [];
}

function pytestEvidence(tree: TreeView): string | null {
  if (tree.files.includes('pytest.ini')) return 'pytest.ini';
  for (const f of ['pyproject.toml', 'setup.cfg', 'tox.ini'] as const) {
    const text = tree.contents[f];
    if (text !== undefined && /\bpytest\b/.test(text)) return f;
  }
  if (tree.files.includes('conftest.py')) return 'conftest.py';
  const isTestFile = (f: string) => /^test_.+\.py$/.test(f);
  if (tree.dirs.includes('tests') && tree.testsDir.some(isTestFile)) return 'tests/';
  if (tree.files.some(isTestFile)) return tree.files.find(isTestFile)!;
  return null;
}

function fromGo(tree: TreeView): Found[] {
  if (!tree.files.includes('go.mod')) return [];
  return [
    { name: 'lint', command: 'go vet ./...', from: 'go.mod' },
    { name: 'test', command: 'go test ./...', from: 'go.mod' },
  ];
}

function fromRust(tree: TreeView): Found[] {
  return tree.files.includes('Cargo.toml') ? [{ name: 'test', command: 'cargo test', from: 'Cargo.toml' }] : [];
}

/** `make test` (and lint, build) when the Makefile defines that target. */
function fromMakefile(tree: TreeView): Found[] {
  // The file make itself would pick, in make's own order.
  const file = (['GNUmakefile', 'makefile', 'Makefile'] as const).find((f) => tree.contents[f] !== undefined);
  if (!file) return [];
  const targets = makeTargets(tree.contents[file]!);
  return (['build', 'lint', 'test'] as const)
    .filter((t) => targets.has(t))
    .map((t) => ({ name: t, command: `make ${t}`, from: file }));
}

/**
 * Target names defined by rule lines (`test:`, `test lint: deps`, `test::`).
 * Not variable assignments (`test := x`, `test = a:b`), recipe lines (which
 * start with a tab) or comments.
 */
export function makeTargets(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    if (/^\s/.test(line) || line.startsWith('#')) continue;
    const m = /^([^:=#]+?)\s*::?(?!=)/.exec(line);
    if (!m) continue;
    for (const name of m[1]!.trim().split(/\s+/)) out.add(name);
  }
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------
// Reading a tree: a checked-out directory, or a commit
// ---------------------------------------------------------------------------

/**
 * The verify commands for a checked-out directory (a task's worktree, the
 * merge queue's). samgita.yaml's commands win without reading the tree.
 */
export async function resolveVerifyCommands(config: SamgitaConfig, dir: string): Promise<VerifyResolution> {
  return configuredVerifyCommands(config.verify) ?? chooseVerifyCommands(config.verify, await treeOfDir(dir));
}

/** The same, for the tree of a commit of `repo` (read with git: the working tree may differ). */
export async function resolveVerifyCommandsAtCommit(
  config: SamgitaConfig,
  repo: string,
  commit: string,
): Promise<VerifyResolution> {
  return (
    configuredVerifyCommands(config.verify) ?? chooseVerifyCommands(config.verify, await treeAtCommit(repo, commit))
  );
}

export async function treeOfDir(dir: string): Promise<TreeView> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files = entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name);
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name);
  const testsDir = dirs.includes('tests')
    ? (await readdir(path.join(dir, 'tests'), { withFileTypes: true }).catch(() => []))
        .filter((e) => e.isFile())
        .map((e) => e.name)
    : [];
  const contents: TreeView['contents'] = {};
  for (const f of CONTENT_FILES) {
    if (!files.includes(f)) continue;
    const text = await readFile(path.join(dir, f), 'utf8').catch(() => null);
    if (text !== null) contents[f] = text;
  }
  return { files, dirs, testsDir, contents };
}

export async function treeAtCommit(repo: string, commit: string): Promise<TreeView> {
  const root = parseLsTree((await tryGit(repo, ['ls-tree', '-z', commit])) ?? '');
  const files = root.filter((e) => e.type === 'blob').map((e) => e.name);
  const dirs = root.filter((e) => e.type === 'tree').map((e) => e.name);
  const testsDir = dirs.includes('tests')
    ? parseLsTree((await tryGit(repo, ['ls-tree', '-z', `${commit}:tests`])) ?? '')
        .filter((e) => e.type === 'blob')
        .map((e) => e.name)
    : [];
  const contents: TreeView['contents'] = {};
  for (const f of CONTENT_FILES) {
    if (!files.includes(f)) continue;
    const text = await readFileAtCommit(repo, commit, f);
    if (text !== null) contents[f] = text;
  }
  return { files, dirs, testsDir, contents };
}

/** `git ls-tree -z` output: `<mode> <type> <object>\t<name>` entries, NUL-separated. */
function parseLsTree(out: string): { type: string; name: string }[] {
  return out
    .split('\0')
    .filter(Boolean)
    .map((entry) => {
      const tab = entry.indexOf('\t');
      return { type: entry.slice(0, tab).split(' ')[1] ?? '', name: entry.slice(tab + 1) };
    });
}
