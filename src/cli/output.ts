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

/** `host/path:tag` as repository and tag (`<none>` for a name without a tag). */
export function splitName(n: string): [string, string] {
  const at = n.lastIndexOf(':');
  const slash = n.lastIndexOf('/');
  return at > slash ? [n.slice(0, at), n.slice(at + 1)] : [n, '<none>'];
}

/** The kinds of per-image records in fsck's and prune's messages: `scan`, `scan and trust`. */
export function recordKinds(kinds: readonly string[] | undefined): string {
  const k = [...new Set(kinds)];
  return k.length ? k.join(' and ') : 'per-image';
}

export function json(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}
