const usd = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const usdSmall = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 4,
  maximumFractionDigits: 4,
});
const int = new Intl.NumberFormat('en-US');
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export function money(n: number): string {
  return n > 0 && n < 0.01 ? usdSmall.format(n) : usd.format(n);
}

export function tokens(n: number): string {
  return n >= 100_000 ? compact.format(n) : int.format(n);
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return '—';
  const d = now - Date.parse(iso);
  if (d < 60_000) return 'just now';
  return `${duration(d).split(' ')[0]} ago`;
}

export function label(status: string): string {
  return status.replace(/_/g, ' ');
}

export function shortTime(iso: string): string {
  const d = new Date(iso);
  return d.toLocaleTimeString(undefined, { hour12: false });
}
