import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { label, shortTime } from '../lib/format.js';
import { useResource } from '../lib/hooks.js';
import { navigate } from '../lib/router.js';
import { streamSse } from '../lib/sse.js';
import type { LogLine, UiAgent } from '../lib/types.js';
import { Empty } from './common.js';

const MAX_LINES = 5000;

export function LogsView({ projectId, runId }: { projectId: string; runId: string | null }) {
  const runs = useResource<UiAgent[]>(
    `runs:${projectId}`,
    async () => (await api<{ data: UiAgent[] }>(`/api/ui/agents?project_id=${projectId}&active=false`)).data,
  );
  const selected = runId ?? runs.data?.[0]?.id ?? null;
  return (
    <section aria-labelledby="logs-title">
      <div class="head-row">
        <h2 id="logs-title">Logs</h2>
        <label class="inline">
          <span>Agent run</span>
          <select
            value={selected ?? ''}
            onChange={(e) => navigate(`/ui/projects/${projectId}/logs/${(e.target as HTMLSelectElement).value}`, true)}
          >
            {(runs.data ?? []).map((r) => (
              <option key={r.id} value={r.id}>
                {r.agent_type} · {r.task_title ?? r.task_key ?? '—'} · {label(r.status)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {runs.data && runs.data.length === 0 && <Empty>No agent has run yet.</Empty>}
      {selected && <LogStream key={selected} runId={selected} />}
    </section>
  );
}

function LogStream({ runId }: { runId: string }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [ended, setEnded] = useState(false);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const ctl = new AbortController();
    let pending: LogLine[] = [];
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      const batch = pending;
      pending = [];
      setLines((prev) => {
        const next = prev.concat(batch);
        return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
      });
    };
    streamSse(`/api/agents/${runId}/logs?follow=true`, {
      signal: ctl.signal,
      onMessage: (m) => {
        if (m.event === 'end') {
          setEnded(true);
          return;
        }
        if (m.event !== 'log') return;
        pending.push(JSON.parse(m.data) as LogLine);
        if (!scheduled) {
          scheduled = true;
          requestAnimationFrame(flush);
        }
      },
    });
    return () => ctl.abort();
  }, [runId]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  const q = query.trim().toLowerCase();
  const shown = q ? lines.filter((l) => l.line.toLowerCase().includes(q)) : lines;
  return (
    <div class="logs">
      <div class="log-tools">
        <label class="inline">
          <span>Search</span>
          <input
            type="search"
            value={query}
            onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
            placeholder="filter lines"
          />
        </label>
        <label class="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow((e.target as HTMLInputElement).checked)} />
          Follow
        </label>
        <span class="muted small num" aria-live="polite">
          {q ? `${shown.length} of ${lines.length} lines` : `${lines.length} lines`}
          {ended ? ' · run ended' : ' · live'}
        </span>
      </div>
      <div
        class="log-box"
        ref={box}
        role="log"
        aria-label="Agent log"
        onWheel={(e) => {
          if ((e as WheelEvent).deltaY < 0) setFollow(false);
        }}
      >
        {shown.map((l) => (
          <div key={l.id} class={`ll ll-${l.stream}`} data-log-id={l.id}>
            <span class="lt">{shortTime(l.inserted_at)}</span>
            <span class="ls">{l.stream}</span>
            <span class="lx">{q ? highlight(l.line, q) : l.line}</span>
          </div>
        ))}
      </div>
    </div>
  );
}

function highlight(text: string, q: string) {
  const i = text.toLowerCase().indexOf(q);
  if (i < 0) return text;
  return (
    <>
      {text.slice(0, i)}
      <mark>{text.slice(i, i + q.length)}</mark>
      {text.slice(i + q.length)}
    </>
  );
}
