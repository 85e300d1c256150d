import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { normalizeGitUrl, originFromConfig, realpathLoose, repoDirName } from '../../src/api/repo-locate.js';
import { cloneAtomically, guardedArgv, removeStaleCloneTemps } from '../../src/git/clone.js';
import { classifyGitUrl, redactUrl } from '../../src/git/url.js';
import { ensureClone } from '../../src/github/workspace.js';
import { canonicalLocalGitUrl, gitUrlSpellings } from '../../src/projects/identity.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'samgita-giturl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('classifyGitUrl', () => {
  test.each([
    'https://github.com/acme/widgets.git',
    'http://git.example.com/r',
    'ssh://git@github.com/acme/widgets.git',
    'git://127.0.0.1:9418/x',
    'git@github.com:acme/widgets.git',
    'github.com:acme/widgets',
  ])('remote: %s', (url) => {
    expect(classifyGitUrl(url)).toEqual({ kind: 'remote' });
  });

  test('local paths and file:// URLs', () => {
    expect(classifyGitUrl('/srv/x')).toEqual({ kind: 'local', path: '/srv/x' });
    expect(classifyGitUrl('file:///srv/x/')).toEqual({ kind: 'local', path: '/srv/x/' });
    expect(classifyGitUrl('file://localhost/srv/a%20b')).toEqual({ kind: 'local', path: '/srv/a b' });
  });

  test.each([
    ['ext::sh -c touch% /tmp/pwned', /remote-helper/],
    ['fd::3', /remote-helper/],
    ['foo::bar', /remote-helper/],
    ['-uhelp', /start with "-"/],
    ['--upload-pack=touch /tmp/x', /start with "-"/],
    ['ssh://-oProxyCommand=x/y', /"-"/],
    ['-oProxyCommand=x:y', /start with "-"/],
    ['git@host:-x', /"-"/],
    ['ftp://example.com/r', /unsupported scheme/],
    ['file://otherhost/srv/x', /host/],
    ['not a url', /is not an/],
    ['relative/path', /is not an/],
    ['https://x.test/r\n--upload-pack=x', /control/],
    ['https://x\u0000y/r', /control/],
  ])('refused: %s', (url, why) => {
    expect(() => classifyGitUrl(url)).toThrow(why);
  });
});

describe('redactUrl', () => {
  test('strips credentials from http(s) and passwords elsewhere, in any text', () => {
    expect(redactUrl('cannot clone https://ghp_abc123@github.com/a/b: boom')).toBe(
      'cannot clone https://***@github.com/a/b: boom',
    );
    expect(redactUrl('https://user:pw@h/x and http://tok@h/y')).toBe('https://***@h/x and http://***@h/y');
    expect(redactUrl('ssh://git@github.com/a/b')).toBe('ssh://git@github.com/a/b');
    expect(redactUrl('ssh://me:secret@host/a')).toBe('ssh://me:***@host/a');
    expect(redactUrl('git@github.com:a/b.git')).toBe('git@github.com:a/b.git');
    expect(redactUrl('no url here')).toBe('no url here');
  });
});

describe('one identity for a local repository', () => {
  test('/x, /x/ and file:///x/ normalise alike, through symlinks', () => {
    const real = path.join(tmp, 'repo');
    mkdirSync(real);
    const link = path.join(tmp, 'link');
    symlinkSync(real, link);
    const want = normalizeGitUrl(real);
    for (const u of [`${real}/`, `file://${real}`, `file://${real}/`, link, `file://${link}/`]) {
      expect(normalizeGitUrl(u), u).toBe(want);
    }
    expect(realpathLoose(path.join(link, 'missing', 'deeper'))).toBe(path.join(real, 'missing', 'deeper'));
    expect(canonicalLocalGitUrl(`${real}/`)).toBe(`file://${real}`);
    const sp = gitUrlSpellings(`file://${real}`, real);
    for (const u of [real, `${real}/`, `file://${real}`, `file://${real}/`]) expect(sp).toContain(u);
    expect(gitUrlSpellings('https://h/a/b.git', null)).toEqual(
      expect.arrayContaining(['https://h/a/b', 'https://h/a/b/', 'https://h/a/b.git', 'https://h/a/b.git/']),
    );
  });

  test('repoDirName never yields . or .. or a leading dot or dash', () => {
    expect(repoDirName('..')).toBe('project');
    expect(repoDirName('.')).toBe('project');
    expect(repoDirName('../../etc')).toBe('etc');
    expect(repoDirName('.hidden')).toBe('hidden');
    expect(repoDirName('-rf')).toBe('rf');
    expect(repoDirName('Beta Project')).toBe('beta-project');
  });
});

describe('origin from .git/config without git', () => {
  test('reads [remote "origin"] url; defers to git for includes and insteadOf', async () => {
    const d = path.join(tmp, 'cfg');
    mkdirSync(path.join(d, '.git'), { recursive: true });
    writeFileSync(
      path.join(d, '.git', 'config'),
      '[core]\n\tbare = false\n[remote "upstream"]\n\turl = https://u/x\n[remote "origin"]\n\turl = https://tok@h/a/b.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n',
    );
    expect(await originFromConfig(d)).toBe('https://tok@h/a/b.git');
    writeFileSync(path.join(d, '.git', 'config'), '[remote "upstream"]\n\turl = https://u/x\n');
    expect(await originFromConfig(d)).toBeNull();
    writeFileSync(path.join(d, '.git', 'config'), '[include]\n\tpath = other\n');
    expect(await originFromConfig(d)).toBeUndefined();
    expect(await originFromConfig(path.join(tmp, 'nope'))).toBeUndefined();
  });
});

describe('cloneAtomically', () => {
  test('guarded argv: pdeathsig and a self-enforced timeout', () => {
    const argv = guardedArgv('git', ['clone', 'x'], 1500);
    expect(argv.slice(-3)).toEqual(['git', 'clone', 'x']);
    if (existsSync('/usr/bin/setpriv')) expect(argv.slice(0, 3)).toEqual(['setpriv', '--pdeathsig', 'KILL']);
    expect(argv).toEqual(expect.arrayContaining(['timeout', '-s', 'KILL', '1.500']));
  });

  test('the destination appears only complete; stale temporaries are removed; failures leave nothing', async () => {
    const origin = path.join(tmp, 'origin');
    mkdirSync(origin);
    const g = (cwd: string, ...a: string[]) =>
      execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { cwd, stdio: 'pipe' });
    g(origin, 'init', '-q', '-b', 'main');
    writeFileSync(path.join(origin, 'README.md'), '# o\n');
    g(origin, 'add', '.');
    g(origin, 'commit', '-q', '-m', 'init');
    const parent = path.join(tmp, 'dest');
    mkdirSync(path.join(parent, 'r.tmp-deadbeef', 'half'), { recursive: true });
    mkdirSync(path.join(parent, 'other.tmp-cafe'), { recursive: true });
    await cloneAtomically(`file://${origin}`, path.join(parent, 'r'), { timeoutMs: 30_000, cloneArgs: ['--quiet'] });
    expect(existsSync(path.join(parent, 'r', 'README.md'))).toBe(true);
    expect(readdirSync(parent).sort()).toEqual(['other.tmp-cafe', 'r']);

    await expect(
      cloneAtomically(`file://${tmp}/missing`, path.join(parent, 'bad'), { timeoutMs: 30_000 }),
    ).rejects.toThrow(/does not appear|not a git repository|repository/);
    expect(readdirSync(parent).sort()).toEqual(['other.tmp-cafe', 'r']);
    await removeStaleCloneTemps(path.join(parent, 'other'));
    expect(readdirSync(parent)).toEqual(['r']);
  });

  test('ensureClone (GitHub projects) clones through a temporary sibling and detaches HEAD', async () => {
    const origin = path.join(tmp, 'origin');
    const dir = path.join(tmp, 'gh', 'acme', 'widgets');
    mkdirSync(`${dir}.tmp-0badc0de`, { recursive: true });
    await ensureClone({ dir, cloneUrl: `file://${origin}`, defaultBranch: 'main', token: 'tok' });
    expect(readdirSync(path.dirname(dir))).toEqual(['widgets']);
    const g = (...a: string[]) => execFileSync('git', a, { cwd: dir, stdio: 'pipe' }).toString().trim();
    expect(() => g('symbolic-ref', '-q', 'HEAD')).toThrow(); // detached
    expect(g('rev-parse', 'refs/heads/main')).toBe(g('rev-parse', 'HEAD'));
  });

  test('a clone that hangs is killed at its timeout and leaves nothing behind', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((sock) => void sockets.push(sock)); // accepts, never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const parent = path.join(tmp, 'hang');
    try {
      await expect(
        cloneAtomically(`git://127.0.0.1:${port}/x`, path.join(parent, 'x'), { timeoutMs: 700 }),
      ).rejects.toThrow(/timed out after 700 ms/); // the child's own timeout, not the test's
      expect(sockets.length).toBe(1);
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      for (const sock of sockets) sock.destroy();
      server.close();
    }
  });
});
