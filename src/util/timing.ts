/**
 * Start-up timing marks for performance work: `MOAT_TIMING=1 moat run ...` prints, on exit, how
 * many milliseconds after process start each phase was reached, and the CPU time (user + system)
 * the process had used by then: on a loaded machine the wall times stretch, the CPU times less.
 * Free when unset.
 */
const on = process.env.MOAT_TIMING === '1';
const marks: [string, number, number][] = [];

export function mark(name: string): void {
  if (!on) return;
  if (marks.length === 0)
    process.once('exit', () =>
      process.stderr.write(
        marks.map(([n, t, c]) => `moat timing: ${t.toFixed(1)} ms (cpu ${c.toFixed(1)} ms) ${n}\n`).join(''),
      ),
    );
  const cpu = process.cpuUsage();
  marks.push([name, performance.now(), (cpu.user + cpu.system) / 1000]);
}
