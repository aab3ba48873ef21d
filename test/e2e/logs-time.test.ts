/** moat logs --since/--until (docker's time forms) and --details (accepted, nothing to add). */
import { describe, expect, it } from 'vitest';
import { IMAGE, moat, uniq } from './moat.js';

describe('moat logs --since/--until', () => {
  it('keeps the lines written in the window', async () => {
    const name = uniq('lt');
    const r = await moat(['run', '--name', name, IMAGE, 'sh', '-c', 'echo early; sleep 2; echo late']);
    expect(r.code, r.stderr).toBe(0);
    // the middle of the run: after "early", before "late"
    const inspect = JSON.parse((await moat(['inspect', name])).stdout) as { startedAt: string }[];
    const mid = (Date.parse(inspect[0].startedAt) / 1000 + 1).toFixed(3);
    expect((await moat(['logs', '--since', mid, name])).stdout).toBe('late\n');
    expect((await moat(['logs', '--until', mid, name])).stdout).toBe('early\n');
    expect((await moat(['logs', '--since', '10m', '--details', name])).stdout).toBe('early\nlate\n');
    expect((await moat(['logs', '--since', new Date(Date.now() + 60_000).toISOString(), name])).stdout).toBe(
      '',
    );
    const bad = await moat(['logs', '--since', 'yesterday', name]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --since "yesterday" \[CLI_USAGE\]/);
    await moat(['rm', name]);
  });
});
