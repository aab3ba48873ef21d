/** A label filter value, `key` or `key=value` (docker's `label=` filters), holds in `labels`. */
export function labelHolds(labels: Readonly<Record<string, string>>, v: string): boolean {
  const eq = v.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, v);
  const k = v.slice(0, eq);
  return Object.hasOwn(labels, k) && labels[k] === v.slice(eq + 1);
}
