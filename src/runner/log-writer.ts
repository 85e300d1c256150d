import type pg from 'pg';
import type { ClaudeEvent } from '../claude/events.js';
import { knownSecrets, redact } from '../sandbox/secrets.js';
import { appendAgentLogs, type LogStream } from '../store/agent-runs.js';

const FLUSH_MS = 200;
const MAX_BATCH = 200;
const MAX_LINE = 16_000;

/**
 * Buffers an agent's log lines and writes them in batches: one insert per
 * 200 ms instead of one per CLI event, which matters with many agents at once.
 */
export class AgentLogWriter {
  private buffer: { stream: LogStream; line: string }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly secrets = knownSecrets();

  constructor(
    private readonly pool: pg.Pool,
    private readonly agentRunId: string,
  ) {}

  event(e: ClaudeEvent): void {
    this.push('event', JSON.stringify(e));
  }

  stderr(line: string): void {
    this.push('stderr', line);
  }

  verify(text: string): void {
    this.push('verify', text);
  }

  system(text: string): void {
    this.push('system', text);
  }

  private push(stream: LogStream, raw: string): void {
    // Whatever an agent or its tools printed (its environment, say) is stored without the secrets.
    const line = redact(raw, this.secrets);
    this.buffer.push({ stream, line: line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line });
    if (this.buffer.length >= MAX_BATCH) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() =>
      appendAgentLogs(this.pool, this.agentRunId, batch).then(
        () => {},
        () => {},
      ),
    );
    return this.flushing;
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
