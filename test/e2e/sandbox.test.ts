/**
 * Verify commands run what agents wrote; they run sandboxed. Through
 * `samgita run` (the real bin, real bubblewrap, real PostgreSQL), a test
 * script stands in for hostile agent code: it looks for the runner's secrets
 * and ~/.ssh, writes outside its worktree, connects to the database and
 * leaves a process behind. Every attempt fails, the run still completes, and
 * no secret value is anywhere in the database (pg_dump).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSandbox } from '../../src/sandbox/bwrap.js';
import { fakeClaudeEnv, makeRepo, samgita } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { writeFakeScript } from '../support/fake-claude/index.js';

const PRD = '# Probe\n\n## Features\n\n- Write a probe\n';
const WEBHOOK_SECRET = 'whsec-planted-7f3a9c1e5b';
const GITHUB_TOKEN = 'ghs_plantedTOKEN0123456789abcdef';

let db: TestDatabase;
let home: string;
let fakeHome: string;
const available = (await probeSandbox()).available;

beforeAll(async () => {
  db = await createTestDatabase();
  home = await mkdtemp(path.join(os.tmpdir(), 'samgita-sandbox-'));
  // A host HOME with an ssh key the agent's code must not see.
  fakeHome = await mkdtemp(path.join(os.tmpdir(), 'samgita-host-home-'));
  fs.mkdirSync(path.join(fakeHome, '.ssh'));
  fs.writeFileSync(path.join(fakeHome, '.ssh', 'id_ed25519'), 'PLANTED-SSH-KEY-material\n');
});
afterAll(async () => {
  await db?.drop();
});

describe.skipIf(!available)('the verify sandbox', () => {
  it('keeps secrets, the host, the database and stray processes out of reach of agent-written code', async () => {
    // Outside the worktree: on the host's filesystem (read-only inside), and next to Samgita's home
    // (a private /tmp inside: the write lands there and vanishes with the sandbox).
    const varTmp = `/var/tmp/samgita-escaped-${path.basename(home)}`;
    const outside = path.join(home, 'escaped.txt');
    const probe = [
      'echo "webhook=[$WEBHOOK_SECRET] token=[$GITHUB_TOKEN] db=[$DATABASE_URL]"',
      `cat ${fakeHome}/.ssh/id_ed25519 2>/dev/null && echo SSH-READ || echo SSH-HIDDEN`,
      `(echo x > ${varTmp}) 2>/dev/null && echo WROTE-OUTSIDE || echo WRITE-REFUSED`,
      `echo x > ${outside} 2>/dev/null; true`,
      `ls -A ${fakeHome} | grep -q . && echo HOME-VISIBLE || echo HOME-HIDDEN`,
      `node -e "require('net').connect(5432,'127.0.0.1').on('connect',()=>{console.log('DB-REACHED');process.exit(0)}).on('error',e=>console.log('DB-REFUSED',e.code))"`,
      `(sh -c 'sleep 300 # samgita-stray-marker' &)`,
      'echo probe done',
    ].join('\n');
    const repo = await makeRepo({
      'PRD.md': PRD,
      'probe.sh': `${probe}\n`,
      'samgita.yaml': 'phases: [development]\nverify:\n  test: sh probe.sh\n',
    });
    // The stand-in CLI's script lives apart: its folder is bound into the sandbox (SAMGITA_SANDBOX_BIND).
    const script = writeFakeScript(await mkdtemp(path.join(os.tmpdir(), 'samgita-sandbox-script-')), [
      {
        steps: [
          { write: { path: 'note.txt', content: 'probe\n' } },
          { result: { text: 'Wrote note.txt', cost_usd: 0.001 } },
        ],
      },
    ]);
    const r = await samgita(['run', repo, '--json'], {
      ...fakeClaudeEnv({ databaseUrl: db.url, home: path.join(home, 'samgita'), script }),
      HOME: fakeHome,
      WEBHOOK_SECRET,
      GITHUB_TOKEN,
    });
    expect(r.code, r.stderr).toBe(0);
    const { rows } = await db.pool.query<{ output: { steps?: { output: string }[] } }>(
      `select output from rarv_steps where step = 'verify' order by id limit 1`,
    );
    const out = rows[0]!.output.steps?.[0]?.output ?? '';
    expect(out).toContain('probe done');
    expect(out).toContain('webhook=[] token=[] db=[]');
    expect(out).toContain('SSH-HIDDEN');
    expect(out).toContain('WRITE-REFUSED');
    expect(out).toContain('HOME-HIDDEN');
    expect(out).toMatch(/DB-REFUSED/);
    expect(out).not.toMatch(/DB-REACHED|SSH-READ|WROTE-OUTSIDE/);
    expect(fs.existsSync(outside)).toBe(false);
    expect(fs.existsSync(varTmp)).toBe(false);
    // The stray process died with its sandbox (its PID namespace ended with the command).
    const stray = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('samgita-stray-marker'));
    expect(stray).toEqual([]);
    // No planted secret anywhere in the database.
    const dump = execFileSync('pg_dump', ['--data-only', db.url], { encoding: 'utf8', maxBuffer: 64 << 20 });
    for (const secret of [WEBHOOK_SECRET, GITHUB_TOKEN, 'PLANTED-SSH-KEY-material']) expect(dump).not.toContain(secret);
  });
});
