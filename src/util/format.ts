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
