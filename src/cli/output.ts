/** Tables, sizes and times for humans; JSON for scripts. */

export function table(rows: string[][], header: string[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return (
    all
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i])))
          .join('   ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export { ago, humanSize } from '../util/format.js';

export function json(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}
