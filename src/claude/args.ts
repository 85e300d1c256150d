/**
 * Builds the argv for one non-interactive Claude Code run. Pure.
 *
 * The prompt is not part of it: with `-p` and no positional prompt the CLI
 * reads the prompt from stdin, and runClaude writes it there. On the command
 * line any user of the machine could read it (`ps`, /proc/<pid>/cmdline), and
 * it carries the PRD; it also need not fit the kernel's argv limits.
 */
export type PermissionMode = 'default' | 'acceptEdits' | 'bypassPermissions' | 'plan' | 'dontAsk' | 'auto';

/** The flags of one run (no prompt: see above). */
export interface ClaudeArgsOptions {
  model?: string | undefined;
  fallbackModel?: string | undefined;
  permissionMode?: PermissionMode | undefined;
  /** Tool names or patterns, e.g. `Write`, `Bash(git commit:*)`. Joined with commas. */
  allowedTools?: readonly string[] | undefined;
  disallowedTools?: readonly string[] | undefined;
  maxTurns?: number | undefined;
  maxBudgetUsd?: number | undefined;
  appendSystemPrompt?: string | undefined;
  /** Start a new session with this UUID. Ignored when `resume` is set. */
  sessionId?: string | undefined;
  /** Resume an earlier session by id. */
  resume?: string | undefined;
  /** JSON Schema (object or its JSON text) for structured output. */
  jsonSchema?: string | Record<string, unknown> | undefined;
  addDirs?: readonly string[] | undefined;
  mcpConfig?: string | undefined;
  extraArgs?: readonly string[] | undefined;
}

/** One run: its flags and the prompt that goes to the CLI's stdin. */
export interface ClaudeRunSpec extends ClaudeArgsOptions {
  prompt: string;
}

function assertPositiveInt(name: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${n}`);
}

export function buildClaudeArgs(opts: ClaudeArgsOptions): string[] {
  const args: string[] = ['-p', '--output-format', 'stream-json', '--verbose'];
  if (opts.model) args.push('--model', opts.model);
  if (opts.fallbackModel) args.push('--fallback-model', opts.fallbackModel);
  if (opts.permissionMode) args.push('--permission-mode', opts.permissionMode);
  if (opts.allowedTools && opts.allowedTools.length > 0) args.push('--allowedTools', opts.allowedTools.join(','));
  if (opts.disallowedTools && opts.disallowedTools.length > 0) {
    args.push('--disallowedTools', opts.disallowedTools.join(','));
  }
  if (opts.maxTurns !== undefined) {
    assertPositiveInt('maxTurns', opts.maxTurns);
    args.push('--max-turns', String(opts.maxTurns));
  }
  if (opts.maxBudgetUsd !== undefined) {
    if (!(opts.maxBudgetUsd > 0)) throw new RangeError(`maxBudgetUsd must be > 0, got ${opts.maxBudgetUsd}`);
    args.push('--max-budget-usd', String(opts.maxBudgetUsd));
  }
  if (opts.appendSystemPrompt) args.push('--append-system-prompt', opts.appendSystemPrompt);
  if (opts.resume) args.push('--resume', opts.resume);
  else if (opts.sessionId) args.push('--session-id', opts.sessionId);
  if (opts.jsonSchema !== undefined) {
    args.push('--json-schema', typeof opts.jsonSchema === 'string' ? opts.jsonSchema : JSON.stringify(opts.jsonSchema));
  }
  for (const dir of opts.addDirs ?? []) args.push('--add-dir', dir);
  if (opts.mcpConfig) args.push('--mcp-config', opts.mcpConfig);
  if (opts.extraArgs) args.push(...opts.extraArgs);
  return args;
}

/** True when the argv asks for structured output (a hand-made argv may still end in `-- <prompt>`). */
export function usesJsonSchema(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json-schema');
}
