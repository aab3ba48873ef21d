import { describe, expect, it } from 'vitest';
import { byCodeUnits } from '../../../src/util/format.js';

describe('byCodeUnits', () => {
  it('orders ISO timestamps by time, newest last', () => {
    const ts = ['2026-12-07T10:00:00.000Z', '2026-01-02T00:00:00.000Z', '2026-12-07T09:59:59.999Z'];
    expect([...ts].sort(byCodeUnits)).toEqual([
      '2026-01-02T00:00:00.000Z',
      '2026-12-07T09:59:59.999Z',
      '2026-12-07T10:00:00.000Z',
    ]);
  });
  it('is code-unit order, not a locale collation (upper case before lower)', () => {
    expect(['b', 'a', 'B', 'A'].sort(byCodeUnits)).toEqual(['A', 'B', 'a', 'b']);
    expect(byCodeUnits('x', 'x')).toBe(0);
  });
});
