import type { ComponentChildren } from 'preact';
import { label } from '../lib/format.js';

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge s-${status}`}>{label(status)}</span>;
}

export function Progress({ done, total, label: text }: { done: number; total: number; label: string }) {
  const pct = total > 0 ? Math.round((done / total) * 100) : 0;
  return (
    <div class="progress">
      <div
        class="bar"
        role="progressbar"
        aria-label={text}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
        aria-valuetext={`${done} of ${total} tasks done`}
      >
        <span style={{ width: `${pct}%` }} />
      </div>
      <span class="num">
        {done}/{total}
      </span>
    </div>
  );
}

export function ErrorNote({ error }: { error: Error | undefined | null }) {
  return error ? (
    <p class="error" role="alert">
      {error.message}
    </p>
  ) : null;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
