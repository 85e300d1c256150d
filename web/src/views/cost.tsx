import { useRef } from 'preact/hooks';
import { api } from '../lib/api.js';
import { money, tokens } from '../lib/format.js';
import { useLive, useResource } from '../lib/hooks.js';
import type { CostRow, UiCosts } from '../lib/types.js';
import { ErrorNote } from './common.js';

export function CostView({ projectId }: { projectId: string | null }) {
  const path = `/api/ui/costs?days=14${projectId ? `&project_id=${projectId}` : ''}`;
  const costs = useResource<UiCosts>(path, () => api<UiCosts>(path));
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useLive((e) => {
    if (projectId && e.project_id !== projectId) return;
    if (timer.current) return;
    // Rollups are heavier: at most one refresh per second.
    timer.current = setTimeout(() => {
      timer.current = null;
      void costs.reload();
    }, 1000);
  });
  const c = costs.data;
  return (
    <section aria-labelledby="cost-title">
      <h2 id="cost-title">Cost and tokens</h2>
      <ErrorNote error={costs.error} />
      <dl class="stats big">
        <div>
          <dt>Total cost</dt>
          <dd class="num" data-total-cost>
            {c ? money(c.total.cost_usd) : ' '}
          </dd>
        </div>
        <div>
          <dt>Total tokens</dt>
          <dd class="num">{c ? tokens(c.total.tokens) : ' '}</dd>
        </div>
        <div>
          <dt>Input / output</dt>
          <dd class="num">{c ? `${tokens(c.total.input_tokens)} / ${tokens(c.total.output_tokens)}` : ' '}</dd>
        </div>
      </dl>
      <div class="charts">
        <Chart title="Per day (last 14 days, UTC)" rows={c?.by_day ?? []} kind="columns" fmtKey={(k) => k.slice(5)} />
        <Chart title="Per phase" rows={c?.by_phase ?? []} kind="bars" />
        <Chart title="Per agent type" rows={c?.by_agent_type ?? []} kind="bars" />
        {!projectId && (
          <Chart
            title="Per project"
            rows={(c?.by_project ?? []).map((r) => ({ ...r, key: r.name ?? r.key }))}
            kind="bars"
          />
        )}
      </div>
    </section>
  );
}

function Chart({
  title,
  rows,
  kind,
  fmtKey = (k) => k,
}: {
  title: string;
  rows: CostRow[];
  kind: 'bars' | 'columns';
  fmtKey?: (k: string) => string;
}) {
  const max = Math.max(0.000001, ...rows.map((r) => r.cost_usd));
  const id = `chart-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <figure class="chart card" aria-labelledby={id}>
      <figcaption id={id}>{title}</figcaption>
      {rows.length === 0 ? (
        <p class="muted small">No spend recorded.</p>
      ) : kind === 'bars' ? (
        <table class="bars">
          <caption class="sr-only">{title}: cost and tokens</caption>
          <thead class="sr-only">
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Cost</th>
              <th scope="col">Tokens</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key}>
                <th scope="row">{r.key}</th>
                <td class="bar-cell">
                  <svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false">
                    <rect x="0" y="0" width={Math.max(0.5, (r.cost_usd / max) * 100)} height="10" rx="1" />
                  </svg>
                  <span class="num">{money(r.cost_usd)}</span>
                </td>
                <td class="num r muted small">{tokens(r.tokens)} tok</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <svg
          class="columns"
          viewBox={`0 0 ${rows.length * 10} 60`}
          role="img"
          aria-label={`${title}: ${rows.map((r) => `${r.key} ${money(r.cost_usd)}`).join(', ')}`}
        >
          {rows.map((r, i) => {
            const h = (r.cost_usd / max) * 50;
            return (
              <g key={r.key}>
                <title>{`${r.key}: ${money(r.cost_usd)}, ${tokens(r.tokens)} tokens`}</title>
                <rect x={i * 10 + 1.5} y={52 - h} width="7" height={Math.max(h, r.cost_usd > 0 ? 0.8 : 0)} rx="0.8" />
                <line x1={i * 10} x2={i * 10 + 10} y1="52" y2="52" class="axis" />
                {(i % 2 === 0 || rows.length <= 8) && (
                  <text x={i * 10 + 5} y="59" text-anchor="middle">
                    {fmtKey(r.key)}
                  </text>
                )}
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}
