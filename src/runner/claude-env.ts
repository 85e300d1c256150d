/**
 * Variables handed to the Claude Code CLI beyond its safe base set: every
 * ANTHROPIC_* and CLAUDE_CODE_* variable (API endpoint, retries, provider
 * switches), API_TIMEOUT_MS, and any names listed in SAMGITA_CLAUDE_PASS_ENV
 * (comma-separated), e.g. AWS_REGION for Bedrock.
 */
export function claudeEnvFromProcess(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const extra = new Set(
    (env.SAMGITA_CLAUDE_PASS_ENV ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (k.startsWith('ANTHROPIC_') || k.startsWith('CLAUDE_CODE_') || k === 'API_TIMEOUT_MS' || extra.has(k))
      out[k] = v;
  }
  return out;
}
