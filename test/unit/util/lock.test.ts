import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { acquire, withLock } from '../../../src/util/lock.js';
import { MoatError } from '../../../src/errors.js';

const dir = () => mkdtempSync(path.join(tmpdir(), 'moat-lock-'));

describe('file lock', () => {
  it('serialises critical sections', async () => {
    const f = path.join(dir(), 'a.lock');
    const order: string[] = [];
    await Promise.all(
      [1, 2, 3].map((n) =>
        withLock(f, async () => {
          order.push(`in${n}`);
          await new Promise((r) => setTimeout(r, 10));
          order.push(`out${n}`);
        }),
      ),
    );
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i].replace('in', 'out'));
    expect(existsSync(f)).toBe(false);
  });

  it('takes over a lock whose holder is dead', async () => {
    const f = path.join(dir(), 'b.lock');
    writeFileSync(f, '999999999 deadbeef\n');
    const release = await acquire(f, { timeoutMs: 1000 });
    await release();
    expect(existsSync(f)).toBe(false);
  });

  it('times out with a clear error while a live holder keeps it', async () => {
    const f = path.join(dir(), 'c.lock');
    const release = await acquire(f);
    const err = await acquire(f, { timeoutMs: 50 }).then(
      () => undefined,
      (e: MoatError) => e,
    );
    expect(err?.code).toBe('RUNTIME_LOCK_TIMEOUT');
    await release();
  });
});
