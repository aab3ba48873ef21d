import { describe, expect, it } from 'vitest';
import {
  defaultNproc,
  effectiveLimitsOf,
  effectivePids,
  LIMIT_DEFAULTS,
  tmpfsOptions,
} from '../../../src/runtime/default-limits.js';

const delegated = { delegated: { pids: '/sys/fs/cgroup/pids/u' } };
const none = { delegated: {} };
const host = { RLIMIT_NPROC: { soft: 96367, hard: 96367 } };

describe('default limits', () => {
  it('a delegated pids cgroup carries the default', () => {
    expect(effectivePids({ ulimits: [] }, delegated, host)).toEqual({
      value: LIMIT_DEFAULTS.pids,
      via: 'cgroup',
      requested: false,
    });
  });

  it('without one, RLIMIT_NPROC does, never above the host hard limit', () => {
    const p = effectivePids({ ulimits: [] }, none, host);
    expect(p).toEqual({ value: 2048, via: 'rlimit', requested: false });
    expect(defaultNproc(p)).toBe(2048);
    const low = effectivePids({ ulimits: [] }, none, { RLIMIT_NPROC: { soft: 100, hard: 500 } });
    expect(low.value).toBe(500);
  });

  it("the user's --ulimit nproc wins over the default and is not restated", () => {
    const p = effectivePids({ ulimits: [{ name: 'nproc', soft: 64, hard: 64 }] }, none, host);
    expect(p).toEqual({ value: 64, via: 'rlimit', requested: true });
    expect(defaultNproc(p)).toBeUndefined();
  });

  it('--pids-limit N is a cgroup limit; -1 and 0 mean none', () => {
    expect(effectivePids({ pidsLimit: 50, ulimits: [] }, none, host)).toEqual({
      value: 50,
      via: 'cgroup',
      requested: true,
    });
    for (const n of [-1, 0]) {
      const p = effectivePids({ pidsLimit: n, ulimits: [] }, delegated, host);
      expect(p).toEqual({ via: 'none', requested: true });
      expect(defaultNproc(p)).toBeUndefined();
    }
  });

  it('tmpfs gets a size unless it names one', () => {
    expect(tmpfsOptions(['mode=1777'])).toEqual(['mode=1777', 'size=64m']);
    expect(tmpfsOptions(['size=1g'])).toEqual(['size=1g']);
  });

  it('inspect reports how the process limit is enforced', () => {
    const spec = { process: { rlimits: [{ type: 'RLIMIT_NPROC', soft: 2048, hard: 2048 }] } };
    expect(effectiveLimitsOf({ limits: {} }, spec as never).pids).toEqual({ value: 2048, via: 'rlimit' });
    expect(effectiveLimitsOf({ limits: { pids: 9 } }, null).pids).toEqual({ value: 9, via: 'cgroup' });
    expect(effectiveLimitsOf({ limits: {} }, null).pids).toEqual({ via: 'none' });
  });
});
