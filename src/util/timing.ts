/**
 * Start-up timing marks for performance work: `MOAT_TIMING=1 moat run ...` prints, on exit, how
 * many milliseconds after process start each phase was reached. Free when unset.
 */
const on = process.env.MOAT_TIMING === '1';
const marks: [string, number][] = [];

export function mark(name: string): void {
  if (!on) return;
  if (marks.length === 0)
    process.once('exit', () =>
      process.stderr.write(marks.map(([n, t]) => `moat timing: ${t.toFixed(1)} ms ${n}\n`).join('')),
    );
  marks.push([name, performance.now()]);
}
