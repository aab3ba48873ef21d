/** Decimal sizes: 512B, 1.1MB, 93.4MB. */
export function humanSize(n: number): string {
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)}${u[i]}`;
}

/**
 * How long ago `iso` was, as docker words it: "Less than a second", "5 seconds", "About a
 * minute", "3 hours", "2 days"; undefined for a missing or unreadable time.
 */
export function since(iso: string | undefined, now = Date.now()): string | undefined {
  const t = Date.parse(iso ?? '');
  if (!Number.isFinite(t)) return undefined;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 2) return 'Less than a second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? 'About a minute' : `${m} minutes`;
  const h = Math.round(m / 60);
  if (h < 48) return h === 1 ? 'About an hour' : `${h} hours`;
  return `${Math.round(h / 24)} days`;
}

/** "5 minutes ago", or '' for a missing or unreadable time (an empty table cell). */
export function ago(iso: string | undefined, now = Date.now()): string {
  const d = since(iso, now);
  return d === undefined ? '' : `${d} ago`;
}

/**
 * Strings in code-unit order, for sort(): what ISO timestamps and IDs need. Not localeCompare,
 * whose first call initialises ICU's collator (~10 ms of every `moat ps`, measured by a CPU
 * profile).
 */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
