/**
 * Server-Sent Events over fetch: unlike EventSource it sees every named event
 * (the API names events by kind), and it resumes with Last-Event-ID itself.
 */
export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

export interface SseOptions {
  onMessage: (m: SseMessage) => void;
  onState?: (state: 'open' | 'connecting' | 'closed') => void;
  /** Called on a 401, after which the stream stops. */
  onUnauthorized?: () => void;
  signal: AbortSignal;
}

export function streamSse(url: string, opts: SseOptions): void {
  let lastId: string | null = null;
  let retry = 1000;
  const run = async (): Promise<void> => {
    while (!opts.signal.aborted) {
      opts.onState?.('connecting');
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (lastId) headers['last-event-id'] = lastId;
        const res = await fetch(url, { headers, credentials: 'same-origin', signal: opts.signal, cache: 'no-store' });
        if (res.status === 401) {
          opts.onUnauthorized?.();
          break;
        }
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        opts.onState?.('open');
        retry = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        let ended = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let idx = buf.search(/\r?\n\r?\n/);
          while (idx >= 0) {
            const block = buf.slice(0, idx);
            buf = buf.slice(buf[idx] === '\r' ? idx + 4 : idx + 2);
            const m = parseBlock(block);
            if (m) {
              if (m.id !== null) lastId = m.id;
              if (m.event === 'end') ended = true;
              opts.onMessage(m);
            } else {
              const r = /^retry:\s*(\d+)/m.exec(block);
              if (r) retry = Number(r[1]);
            }
            idx = buf.search(/\r?\n\r?\n/);
          }
        }
        if (ended) break;
      } catch {
        if (opts.signal.aborted) break;
      }
      opts.onState?.('connecting');
      await new Promise((r) => setTimeout(r, retry));
      retry = Math.min(retry * 2, 15_000);
    }
    opts.onState?.('closed');
  };
  void run();
}

function parseBlock(block: string): SseMessage | null {
  let id: string | null = null;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  return { id, event, data: data.join('\n') };
}
