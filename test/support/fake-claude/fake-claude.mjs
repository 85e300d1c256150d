#!/usr/bin/env node
// A scripted stand-in for the Claude Code CLI (`claude`), for tests.
// Speaks the real CLI's stream-json shapes (recorded from CLI 2.1.197) and exit codes.
//
// env:
//   FAKE_CLAUDE_SCRIPT     JSON file: [{match?, steps}] or {scenarios: [...]}
//   FAKE_CLAUDE_LOG        JSONL file; one line per invocation {argv, cwd, prompt, flags, pid, ...}
//                          (prompt: the positional prompt, or else what came on stdin)
//   FAKE_CLAUDE_LOGGED_IN  '0'/'false' → `auth status` says logged out and -p fails "Not logged in"
//                          (ANTHROPIC_API_KEY / CLAUDE_CODE_OAUTH_TOKEN still count as logged in)
//   FAKE_CLAUDE_VERSION    version to print (default 2.1.197)
//
// match: a string (substring of the prompt), "/regex/flags", or {prompt?, cwd?} (each a substring
// or "/regex/flags"; all given must apply). No match → the scenario always applies.
// steps: {write:{path,content}} {append:{path,content}} {delete:{path}} {run:"shell cmd"} {sleep:ms}
//        {text:"assistant text"} {emit:<raw event>} {rate_limit:{resetsInSeconds, type?}}
//        {fail:'overloaded'|'authentication_failed'|'billing_error'|'server_error'|'not_logged_in'|'rate_limit'}
//        {hang:true} {crash:{code?, signal?}} {structured_output:{...}}
//        {result:{text?, cost_usd?, usage?, subtype?, is_error?, num_turns?}}
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const VERSION = process.env.FAKE_CLAUDE_VERSION || '2.1.197';
const argv = process.argv.slice(2);

const VALUE_FLAGS = new Set([
  '--output-format',
  '--input-format',
  '--model',
  '--fallback-model',
  '--permission-mode',
  '--max-turns',
  '--max-budget-usd',
  '--append-system-prompt',
  '--system-prompt',
  '--session-id',
  '--resume',
  '-r',
  '--json-schema',
  '--mcp-config',
  '--settings',
  '--agents',
  '--setting-sources',
  '--permission-prompt-tool',
  '--append-system-prompt-file',
  '--system-prompt-file',
  '--effort',
]);
const LIST_FLAGS = new Set([
  '--allowedTools',
  '--allowed-tools',
  '--disallowedTools',
  '--disallowed-tools',
  '--add-dir',
  '--tools',
  '--betas',
]);

function parseArgs(list) {
  const flags = {};
  const positionals = [];
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    if (a === '--') {
      positionals.push(...list.slice(i + 1));
      break;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (VALUE_FLAGS.has(name)) {
      flags[name] = eq > 0 ? a.slice(eq + 1) : list[++i];
    } else if (LIST_FLAGS.has(name)) {
      const vals = flags[name] ?? [];
      if (eq > 0) vals.push(a.slice(eq + 1));
      else while (i + 1 < list.length && !list[i + 1].startsWith('-')) vals.push(list[++i]);
      flags[name] = vals;
    } else if (a.startsWith('-')) {
      flags[name] = true;
    } else {
      positionals.push(a);
    }
  }
  return { flags, positionals };
}

const envLoggedIn = () => {
  const v = (process.env.FAKE_CLAUDE_LOGGED_IN ?? 'true').toLowerCase();
  return !(v === '0' || v === 'false' || v === 'no');
};
const authState = () => {
  if (process.env.ANTHROPIC_API_KEY)
    return { loggedIn: true, authMethod: 'api_key', apiProvider: 'firstParty', apiKeySource: 'ANTHROPIC_API_KEY' };
  if (process.env.CLAUDE_CODE_OAUTH_TOKEN)
    return { loggedIn: true, authMethod: 'oauth_token', apiProvider: 'firstParty' };
  if (envLoggedIn()) return { loggedIn: true, authMethod: 'claude.ai', apiProvider: 'firstParty' };
  return { loggedIn: false, authMethod: 'none', apiProvider: 'firstParty' };
};

const { flags, positionals } = parseArgs(argv);

function logInvocation(extra) {
  const file = process.env.FAKE_CLAUDE_LOG;
  if (!file) return;
  fs.appendFileSync(
    file,
    `${JSON.stringify({ argv, cwd: process.cwd(), pid: process.pid, flags, ...extra, at: new Date().toISOString() })}\n`,
  );
}

if (flags['--version'] || flags['-v']) {
  logInvocation({ command: 'version' });
  process.stdout.write(`${VERSION} (Claude Code)\n`);
  process.exit(0);
}
if (positionals[0] === 'auth' && positionals[1] === 'status') {
  logInvocation({ command: 'auth status' });
  const s = authState();
  process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
  process.exit(s.loggedIn ? 0 : 1);
}
if (!flags['-p'] && !flags['--print']) {
  process.stderr.write('fake-claude: only -p/--print, --version and `auth status` are supported\n');
  process.exit(2);
}

// Like the real CLI: with -p and no positional prompt, the prompt is read from stdin
// (runClaude writes it there, so it never shows in argv).
async function readStdin() {
  if (process.stdin.isTTY) return '';
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
const prompt = positionals.length > 0 ? positionals.join(' ') : await readStdin();
const cwd = process.cwd();
const started = Date.now();
logInvocation({ command: 'print', prompt });

if (flags['--output-format'] === 'stream-json' && !flags['--verbose']) {
  process.stderr.write('Error: When using --print, --output-format=stream-json requires --verbose\n');
  process.exit(1);
}

// ---- scenario selection ----------------------------------------------------
function test(pattern, value) {
  if (typeof pattern !== 'string') return true;
  const m = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  if (m) return new RegExp(m[1], m[2]).test(value);
  return value.includes(pattern);
}
function matches(match) {
  if (match === undefined || match === null) return true;
  if (typeof match === 'string') return test(match, prompt);
  return test(match.prompt, prompt) && test(match.cwd, cwd);
}
function loadScenarios() {
  const file = process.env.FAKE_CLAUDE_SCRIPT;
  if (!file) return undefined;
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  return Array.isArray(data) ? data : data.scenarios;
}
const scenarios = loadScenarios();
const scenario = scenarios
  ? scenarios.find((s) => matches(s.match))
  : {
      steps: [{ write: { path: 'NOTES.md', content: `# Notes\n\nPrompt: ${prompt}\n` } }, { text: 'Wrote NOTES.md.' }],
    };
if (!scenario) {
  process.stderr.write(`fake-claude: no scenario matches prompt ${JSON.stringify(prompt.slice(0, 200))}\n`);
  process.exit(3);
}

// ---- event output ----------------------------------------------------------
const sessionId = flags['--resume'] || flags['-r'] || flags['--session-id'] || randomUUID();
const model = flags['--model'] || 'claude-sonnet-4-5';
const permissionMode = flags['--permission-mode'] || 'default';
const maxTurns = flags['--max-turns'] ? Number(flags['--max-turns']) : undefined;
const maxBudget = flags['--max-budget-usd'] ? Number(flags['--max-budget-usd']) : undefined;
const jsonSchema = typeof flags['--json-schema'] === 'string';

const out = (e) => process.stdout.write(`${JSON.stringify(e)}\n`);
const DEFAULT_USAGE = {
  input_tokens: 100,
  output_tokens: 20,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
};
const totals = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
let cost = 0;
let turns = 0;
let msgN = 0;
let structured;
let lastText;

out({
  type: 'system',
  subtype: 'init',
  cwd,
  session_id: sessionId,
  tools: ['Task', 'Bash', 'Edit', 'Read', 'Write', ...(jsonSchema ? ['StructuredOutput'] : [])],
  mcp_servers: [],
  model,
  permissionMode,
  slash_commands: [],
  apiKeySource: process.env.ANTHROPIC_API_KEY ? 'ANTHROPIC_API_KEY' : 'none',
  claude_code_version: VERSION,
  output_style: 'default',
  agents: [],
  skills: [],
  plugins: [],
  uuid: randomUUID(),
});

function assistant(content, usage = DEFAULT_USAGE) {
  const u = { ...DEFAULT_USAGE, ...usage };
  for (const k of Object.keys(totals)) totals[k] += u[k] ?? 0;
  cost += 0.001;
  turns++;
  for (const b of content) if (b.type === 'text') lastText = b.text;
  out({
    type: 'assistant',
    message: {
      id: `msg_fake_${++msgN}`,
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: null,
      stop_sequence: null,
      usage: u,
    },
    parent_tool_use_id: null,
    session_id: sessionId,
    uuid: randomUUID(),
  });
}
function toolResult(id, text, isError = false) {
  out({
    type: 'user',
    message: {
      role: 'user',
      content: [{ tool_use_id: id, type: 'tool_result', content: text, ...(isError ? { is_error: true } : {}) }],
    },
    parent_tool_use_id: null,
    session_id: sessionId,
    uuid: randomUUID(),
    timestamp: new Date().toISOString(),
    tool_use_result: text,
  });
}
function finish(r = {}) {
  const subtype = r.subtype ?? 'success';
  const isError = r.is_error ?? subtype !== 'success';
  const usage = r.usage ? { ...DEFAULT_USAGE, ...r.usage } : totals;
  const e = {
    type: 'result',
    subtype,
    is_error: isError,
    api_error_status: r.api_error_status ?? null,
    duration_ms: Date.now() - started,
    duration_api_ms: Date.now() - started,
    num_turns: r.num_turns ?? Math.max(1, turns),
    ...(subtype === 'success' ? { result: r.text ?? lastText ?? 'Done.' } : {}),
    stop_reason: isError && subtype === 'success' ? 'stop_sequence' : 'end_turn',
    session_id: sessionId,
    total_cost_usd: r.cost_usd ?? cost,
    usage: { ...usage, server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 }, service_tier: 'standard' },
    modelUsage: {
      [model]: {
        inputTokens: usage.input_tokens,
        outputTokens: usage.output_tokens,
        cacheReadInputTokens: usage.cache_read_input_tokens,
        cacheCreationInputTokens: usage.cache_creation_input_tokens,
        webSearchRequests: 0,
        costUSD: r.cost_usd ?? cost,
      },
    },
    permission_denials: [],
    ...(subtype !== 'success' ? { errors: r.errors ?? [] } : {}),
    ...(structured !== undefined && !isError ? { structured_output: structured } : {}),
    uuid: randomUUID(),
  };
  out(e);
  process.exitCode = isError ? 1 : 0;
  // Let stdout drain, then exit even if a background child keeps the loop alive.
  process.stdout.write('', () => process.exit(process.exitCode));
}
function apiError(kind) {
  const table = {
    rate_limit: [429, 'rate_limit', 'API Error: Request rejected (429) · rate limited'],
    overloaded: [
      529,
      'server_error',
      'API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment.',
    ],
    authentication_failed: [401, 'authentication_failed', 'Invalid API key · Fix external API key'],
    billing_error: [400, 'billing_error', 'Credit balance is too low'],
    server_error: [
      500,
      'server_error',
      'API Error: 500 Internal server error. This is a server-side issue, usually temporary — try again in a moment.',
    ],
    not_logged_in: [null, 'authentication_failed', 'Not logged in · Please run /login'],
  };
  const [status, error, text] = table[kind] ?? [500, 'unknown', `API Error: ${kind}`];
  out({
    type: 'assistant',
    message: {
      id: randomUUID(),
      model: '<synthetic>',
      role: 'assistant',
      stop_reason: 'stop_sequence',
      stop_sequence: '',
      type: 'message',
      usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      content: [{ type: 'text', text }],
    },
    parent_tool_use_id: null,
    session_id: sessionId,
    uuid: randomUUID(),
    error,
  });
  finish({
    subtype: 'success',
    is_error: true,
    api_error_status: status,
    text,
    cost_usd: 0,
    usage: { input_tokens: 0, output_tokens: 0 },
    num_turns: 1,
  });
}

function toolStep(name, input, act) {
  if (maxTurns !== undefined && turns >= maxTurns) {
    finish({
      subtype: 'error_max_turns',
      num_turns: turns + 1,
      errors: [`Reached maximum number of turns (${maxTurns})`],
    });
    return false;
  }
  const id = `toolu_fake_${msgN + 1}`;
  assistant([{ type: 'tool_use', id, name, input }]);
  return Promise.resolve()
    .then(act)
    .then(
      (text) => toolResult(id, text),
      (err) => toolResult(id, `Error: ${err?.message ?? err}`, true),
    )
    .then(() => {
      if (maxBudget !== undefined && cost >= maxBudget) {
        finish({ subtype: 'error_max_budget_usd', errors: [`Reached maximum budget ($${maxBudget})`] });
        return false;
      }
      return true;
    });
}

function runShell(cmd) {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', cmd], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    // 'exit', not 'close': a backgrounded grandchild may hold the pipes open.
    child.on('exit', (code) => {
      child.stdout.destroy();
      child.stderr.destroy();
      resolve(code === 0 ? text : `Exit code ${code}\n${text}`);
    });
  });
}

const abs = (p) => path.resolve(cwd, p);

async function main() {
  if (!authState().loggedIn) return apiError('not_logged_in');
  for (const step of scenario.steps ?? []) {
    let go = true;
    if (step.write) {
      const p = abs(step.write.path);
      go = await toolStep('Write', { file_path: p, content: step.write.content ?? '' }, () => {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, step.write.content ?? '');
        return `File created successfully at: ${p}`;
      });
    } else if (step.append) {
      const p = abs(step.append.path);
      go = await toolStep('Edit', { file_path: p, old_string: '', new_string: step.append.content ?? '' }, () => {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.appendFileSync(p, step.append.content ?? '');
        return `The file ${p} has been updated.`;
      });
    } else if (step.delete) {
      const p = abs(typeof step.delete === 'string' ? step.delete : step.delete.path);
      go = await toolStep('Bash', { command: `rm -f ${JSON.stringify(p)}`, description: 'Delete file' }, () => {
        fs.rmSync(p, { force: true, recursive: true });
        return '';
      });
    } else if (step.run !== undefined) {
      go = await toolStep('Bash', { command: step.run, description: 'Run command' }, () => runShell(step.run));
    } else if (step.sleep !== undefined) {
      await new Promise((r) => setTimeout(r, step.sleep));
    } else if (step.text !== undefined) {
      assistant([{ type: 'text', text: step.text }]);
    } else if (step.emit !== undefined) {
      out({ session_id: sessionId, uuid: randomUUID(), ...step.emit });
    } else if (step.rate_limit) {
      const resetsAt = Math.floor(Date.now() / 1000) + (step.rate_limit.resetsInSeconds ?? 3600);
      out({
        type: 'rate_limit_event',
        rate_limit_info: {
          status: 'rejected',
          resetsAt,
          rateLimitType: step.rate_limit.type ?? 'five_hour',
          isUsingOverage: false,
        },
        uuid: randomUUID(),
        session_id: sessionId,
      });
      return apiError('rate_limit');
    } else if (step.fail) {
      return apiError(step.fail);
    } else if (step.hang) {
      setInterval(() => {}, 1 << 30);
      return;
    } else if (step.crash) {
      if (step.crash.signal) process.kill(process.pid, step.crash.signal);
      process.exit(step.crash.code ?? 1);
    } else if (step.structured_output !== undefined) {
      structured = step.structured_output;
      go = await toolStep('StructuredOutput', step.structured_output, () => 'Structured output provided successfully');
    } else if (step.result) {
      return finish(step.result);
    }
    if (go === false) return;
  }
  finish(structured !== undefined ? { text: JSON.stringify(structured) } : {});
}

main().catch((err) => {
  process.stderr.write(`fake-claude: ${err?.stack ?? err}\n`);
  process.exit(70);
});
