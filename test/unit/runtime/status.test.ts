/** One wording of a container's status for `moat ps` and the Docker API (runtime/status.ts). */
import { describe, expect, it } from 'vitest';
import { humanStatus } from '../../../src/runtime/status.js';
import type { ContainerRecord } from '../../../src/runtime/state.js';
import { ago, since } from '../../../src/util/format.js';

const now = Date.parse('2026-11-22T10:05:30.000Z');
const before = (s: number) => new Date(now - s * 1000).toISOString();

describe('since and ago', () => {
  it('word a duration as docker does, and say nothing of a time they cannot read', () => {
    const cases: [number, string][] = [
      [0, 'Less than a second'],
      [1, 'Less than a second'],
      [2, '2 seconds'],
      [59, '59 seconds'],
      [60, 'About a minute'],
      [5 * 60, '5 minutes'],
      [60 * 60, 'About an hour'],
      [47 * 3600, '47 hours'],
      [48 * 3600, '2 days'],
    ];
    for (const [s, words] of cases) {
      expect(since(before(s), now), `${s}s`).toBe(words);
      expect(ago(before(s), now)).toBe(`${words} ago`);
    }
    expect(since(new Date(now + 5000).toISOString(), now)).toBe('Less than a second');
    for (const bad of [undefined, '', 'yesterday']) {
      expect(since(bad, now)).toBeUndefined();
      expect(ago(bad, now)).toBe('');
    }
  });
});

describe('humanStatus', () => {
  const rec = {
    status: 'exited',
    exitCode: 3,
    startedAt: before(600),
    finishedAt: before(300),
  } as unknown as ContainerRecord;

  it('is docker ps\'s wording, with "Broken" for a record moat cannot read', () => {
    expect(humanStatus(rec, now)).toBe('Exited (3) 5 minutes ago');
    expect(humanStatus({ ...rec, status: 'running', startedAt: before(30) }, now)).toBe('Up 30 seconds');
    expect(humanStatus({ ...rec, status: 'created' }, now)).toBe('Created');
    expect(humanStatus({ ...rec, status: 'broken' }, now)).toBe('Broken');
  });

  it('says what it does not know rather than inventing it', () => {
    expect(humanStatus({ ...rec, exitCode: undefined }, now)).toBe('Exited (?) 5 minutes ago');
    expect(humanStatus({ ...rec, finishedAt: undefined }, now)).toBe('Exited (3) a while ago');
    expect(humanStatus({ ...rec, status: 'running', startedAt: undefined }, now)).toBe('Up a while');
  });
});
