/**
 * The agent itself runs sandboxed. Through `samgita run` (the real bin, the
 * real Claude Code CLI against the scripted Messages API, real bubblewrap and
 * PostgreSQL), the model makes the CLI's Bash tool probe its surroundings —
 * the runner's secrets, ~/.ssh, a write outside the worktree, the database
 * port, a host on the internet, a process left behind — and then Write a file
 * holding the runner's webhook secret. Every probe fails; the checkpoint
 * commit is refused by the secret scan, the agent is told where the secret
 * is and removes it; the run completes, with no secret in git or in the
 * database (pg_dump), and the model API saw the real key while the CLI held
 * only a placeholder.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSandbox } from '../../src/sandbox/bwrap.js';
import { git, makeRepo, samgita } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type MessagesServer, startMessagesServer, type TurnContext } from '../support/messages-server/index.js';

const CLAUDE = path.resolve(import.meta.dirname, '../../node_modules/.bin/claude');
const API_KEY = 'sk-ant-api03-planted-KEY-0123456789abcdef';
const WEBHOOK_SECRET = 'whsec-agent-planted-91c4e7d2';
const PRD = '# Probe\n\n## Features\n\n- Write note.txt\n';

let db: TestDatabase;
let server: MessagesServer | undefined;
const available = (await probeSandbox()).available;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

function firstUserText(body: Record<string, unknown>): string {
  const m = (body.messages as Array<{ role: string; content: unknown }> | undefined)?.find((x) => x.role === 'user');
  const c = m?.content;
  if (typeof c === 'string') return c;
  return Array.isArray(c)
    ? c.map((b) => (b && typeof b === 'object' && 'text' in b ? String(b.text) : '')).join('\n')
    : '';
}

function toolTurns(body: Record<string, unknown>): number {
  return ((body.messages as Array<{ role: string; content: unknown }> | undefined) ?? []).filter(
    (m) => m.role === 'assistant' && Array.isArray(m.content) && m.content.some((b) => b?.type === 'tool_use'),
  ).length;
}

/** The text of every tool_result the CLI sent back. */
function toolResults(s: MessagesServer): string {
  const out: string[] = [];
  for (const r of s.requests) {
    const messages = (r.body as { messages?: Array<{ content: unknown }> } | undefined)?.messages ?? [];
    for (const m of messages)
      if (Array.isArray(m.content))
        for (const b of m.content)
          if (b?.type === 'tool_result')
            out.push(typeof b.content === 'string' ? b.content : JSON.stringify(b.content));
  }
  return out.join('\n');
}

describe.skipIf(!available)('the agent sandbox, with the real Claude Code CLI', { timeout: 300_000 }, () => {
  it('keeps the Bash tool from secrets, the host, the database and the internet, and keeps secrets out of commits', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-agent-box-'));
    const hostHome = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-agent-host-'));
    fs.mkdirSync(path.join(hostHome, '.ssh'));
    fs.writeFileSync(path.join(hostHome, '.ssh', 'id_ed25519'), 'PLANTED-SSH-KEY-material\n');
    const outside = `/var/tmp/samgita-agent-escaped-${path.basename(home)}`;
    const dbPort = new URL(db.url).port || '5432';
    const probe = [
      'echo "key=[$ANTHROPIC_API_KEY] webhook=[$WEBHOOK_SECRET] db=[$DATABASE_URL] home=[$HOME]"',
      `cat ${hostHome}/.ssh/id_ed25519 2>/dev/null && echo SSH-READ || echo SSH-HIDDEN`,
      `(echo x > ${outside}) 2>/dev/null && echo WROTE-OUTSIDE || echo WRITE-REFUSED`,
      `grep -rl "${API_KEY}" /proc/*/environ 2>/dev/null | head -1 | grep -q . && echo KEY-IN-PROC || echo KEY-NOT-IN-PROC`,
      `node -e "require('net').connect(${dbPort},'127.0.0.1').on('connect',()=>{console.log('DB-REACHED');process.exit(0)}).on('error',e=>console.log('DB-REFUSED',e.code))"`,
      `node -e "fetch('https://example.com',{signal:AbortSignal.timeout(8000)}).then(r=>console.log('NET-REACHED',r.status),e=>console.log('NET-REFUSED',String(e.cause?.code??e.cause?.message??e.message)))"`,
      `(sh -c 'sleep 300 # samgita-agent-stray' > /dev/null 2>&1 &)`,
      'echo probe done',
    ].join('\n');
    server = await startMessagesServer({
      script: {
        turns: [],
        turnFor: (ctx: TurnContext) => {
          const prompt = firstUserText(ctx.body);
          const stage = toolTurns(ctx.body);
          if (/Secret scan blocked/.test(prompt)) {
            // The second loop: the agent was told where the secret is, and removes it.
            if (stage === 0)
              return { toolUse: { name: 'Bash', input: { command: 'rm -f leak.txt', description: 'remove it' } } };
            if (stage === 1)
              return { toolUse: { name: 'Write', input: { file_path: 'note.txt', content: 'probed\n' } } };
            return { text: 'Removed the secret and wrote note.txt.' };
          }
          if (stage === 0) return { toolUse: { name: 'Bash', input: { command: probe, description: 'probe' } } };
          if (stage === 1)
            return {
              toolUse: { name: 'Write', input: { file_path: 'leak.txt', content: `webhook=${WEBHOOK_SECRET}\n` } },
            };
          return { text: 'Probed and wrote leak.txt.' };
        },
      },
    });
    const repo = await makeRepo({
      'PRD.md': PRD,
      'samgita.yaml': 'phases: [development]\nverify:\n  test: test -f note.txt\n',
    });
    const r = await samgita(
      ['run', repo, '--json'],
      {
        DATABASE_URL: db.url,
        HOME: hostHome,
        SAMGITA_HOME: path.join(home, 'samgita'),
        SAMGITA_CLAUDE_BIN: CLAUDE,
        ANTHROPIC_BASE_URL: server.url,
        ANTHROPIC_API_KEY: API_KEY,
        WEBHOOK_SECRET,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        CLAUDE_CODE_MAX_RETRIES: '0',
        API_TIMEOUT_MS: '30000',
      },
      240_000,
    );
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);

    const seen = toolResults(server);
    expect(seen).toContain('probe done');
    // The CLI held a placeholder; the model API got the real key from Samgita's proxy.
    expect(seen).toMatch(/key=\[sk-ant-samgita-sandbox-anthropic_api_key-[0-9a-f]+\]/);
    expect(seen).toContain('webhook=[] db=[] home=[/tmp/home]');
    expect(seen).toContain('SSH-HIDDEN');
    expect(seen).toContain('WRITE-REFUSED');
    expect(seen).toContain('KEY-NOT-IN-PROC');
    expect(seen).toMatch(/DB-REFUSED/);
    expect(seen).toMatch(/NET-REFUSED/);
    expect(fs.existsSync(outside)).toBe(false);
    const main = server.requests.filter((q) => q.kind === 'main');
    expect(main.length).toBeGreaterThan(0);
    for (const q of main) expect(q.headers['x-api-key']).toBe(API_KEY);
    // Nothing of the run outlived it.
    expect(execFileSync('ps', ['-eo', 'args']).toString()).not.toContain('samgita-agent-stray');

    // The secret scan refused the first checkpoint and said where; the secret is in no commit.
    const { rows: steps } = await db.pool.query<{ line: string }>(
      `select line from agent_logs where line like '%Secret scan blocked%'`,
    );
    expect(steps.length).toBeGreaterThan(0);
    expect(steps[0]!.line).toMatch(/leak\.txt:1:9: the value of WEBHOOK_SECRET/);
    expect(steps[0]!.line).not.toContain(WEBHOOK_SECRET);
    // The task's record has what the sandbox refused, as the agent's tool saw it.
    const { rows: refused } = await db.pool.query<{ n: number }>(
      `select count(*)::int as n from agent_logs where line like '%WRITE-REFUSED%' and line like '%SSH-HIDDEN%'`,
    );
    expect(refused[0]!.n).toBeGreaterThan(0);
    const history = await git(repo, 'log', '-p', '--all');
    expect(history).toContain('probed');
    expect(history).not.toContain(WEBHOOK_SECRET);
    expect(history).not.toContain(API_KEY);

    const dump = execFileSync('pg_dump', ['--data-only', db.url], { maxBuffer: 256 * 1024 * 1024 }).toString();
    expect(dump).toContain('Secret scan blocked');
    expect(dump).not.toContain(WEBHOOK_SECRET);
    expect(dump).not.toContain(API_KEY);
  });
});
