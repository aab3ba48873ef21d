import { describe, expect, it } from 'vitest';
import { computeIdMaps, mappedSize, parseSubIds, toHost, unshareMapArgs } from '../../../src/userns/idmap.js';

describe('subordinate IDs', () => {
  const text = '# comment\nalice:100000:65536\n1001:300000:1000\nbob:bad:1\nalice:500000:10\n';
  it('parses ranges by name or uid, skipping junk', () => {
    expect(parseSubIds(text, 'alice', 1000)).toEqual([
      { start: 100000, count: 65536 },
      { start: 500000, count: 10 },
    ]);
    expect(parseSubIds(text, 'carol', 1001)).toEqual([{ start: 300000, count: 1000 }]);
    expect(parseSubIds(text, 'bob', 1002)).toEqual([]);
  });
});

describe('computeIdMaps', () => {
  it('maps container root to the caller and 1..n to the subordinate range', () => {
    const m = computeIdMaps({
      uid: 1000,
      gid: 1000,
      subuids: [{ start: 100000, count: 65536 }],
      subgids: [{ start: 200000, count: 65536 }],
    });
    if ('error' in m) throw new Error(m.error);
    expect(m.mode).toBe('subordinate');
    expect(toHost(m.uidMap, 0)).toBe(1000);
    expect(toHost(m.uidMap, 1000)).toBe(100999);
    expect(toHost(m.gidMap, 1)).toBe(200000);
    expect(mappedSize(m.uidMap)).toBe(65537);
    expect(unshareMapArgs(m, 1000)).toEqual([
      '--map-root-user',
      '--map-users=100000,1,65536',
      '--map-groups=200000,1,65536',
    ]);
  });
  it('falls back to a single-ID mapping without ranges', () => {
    const m = computeIdMaps({ uid: 1000, gid: 1000, subuids: [], subgids: [] });
    if ('error' in m) throw new Error(m.error);
    expect(m.mode).toBe('single');
    expect(mappedSize(m.uidMap)).toBe(1);
    expect(unshareMapArgs(m, 1000)).toEqual(['--map-root-user']);
  });
  it('never maps container root to host root', () => {
    const m = computeIdMaps({
      uid: 0,
      gid: 0,
      subuids: [{ start: 100000, count: 65536 }],
      subgids: [{ start: 100000, count: 65536 }],
    });
    if ('error' in m) throw new Error(m.error);
    expect(toHost(m.uidMap, 0)).toBe(100000);
    expect(unshareMapArgs(m, 0)).toEqual([
      '--map-users=100000,0,65536',
      '--map-groups=100000,0,65536',
      '--setuid',
      '0',
      '--setgid',
      '0',
    ]);
    expect(computeIdMaps({ uid: 0, gid: 0, subuids: [], subgids: [] })).toHaveProperty('error');
  });
});
