/**
 * Issue 15: moat wait --condition (the API's waitBody.condition, as podman's wait offers it):
 * not-running answers at once for a created container, next-exit waits for it to run and end,
 * removed waits for its removal; an unknown condition is a usage error.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGE, moat, uniq } from './moat.js';

const names: string[] = [];
afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
});
const created = async (cmd: string[]) => {
  const n = uniq('wait');
  names.push(n);
  expect((await moat(['create', '--name', n, IMAGE, ...cmd])).code).toBe(0);
  return n;
};

describe('moat wait --condition', () => {
  it('not-running (the default) answers at once for a created container', async () => {
    const n = await created(['true']);
    for (const args of [
      ['wait', n],
      ['wait', '--condition', 'not-running', n],
    ]) {
      const r = await moat(args, { timeoutMs: 10_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('0\n');
    }
  });

  it('next-exit waits for a created container to run and end', async () => {
    const n = await created(['sh', '-c', 'exit 3']);
    const waiting = moat(['wait', '--condition', 'next-exit', n], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 800));
    expect((await moat(['start', n])).code).toBe(0);
    expect(await waiting).toMatchObject({ code: 0, stdout: '3\n' });
  });

  it('removed waits for the container to be removed', async () => {
    const n = await created(['sh', '-c', 'exit 4']);
    expect((await moat(['start', '-a', n])).code).toBe(4);
    const waiting = moat(['wait', '--condition', 'removed', n], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 800));
    expect((await moat(['rm', n])).code).toBe(0);
    expect(await waiting).toMatchObject({ code: 0, stdout: '4\n' });
  });

  it('an unknown condition is refused by the CLI', async () => {
    const r = await moat(['wait', '--condition', 'whenever', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/whenever.*\[CLI_USAGE\]/);
  });
});
