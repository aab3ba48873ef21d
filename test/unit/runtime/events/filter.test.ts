import { describe, expect, it } from 'vitest';
import {
  dockerEvent,
  eventLine,
  eventMatcher,
  filtersFromJson,
  parseEventFilters,
  parseEventTime,
} from '../../../../src/runtime/events/filter.js';
import type { MoatEvent } from '../../../../src/runtime/events/log.js';

const ev = (over: Partial<MoatEvent> = {}): MoatEvent => ({
  timeNano: '1796622470377236398',
  type: 'container',
  action: 'die',
  id: 'ab'.repeat(32),
  attributes: { name: 'web', image: 'moat/busybox', exitCode: '3', tier: 'front' },
  ...over,
});

describe('event times', () => {
  const now = Date.UTC(2026, 11, 7, 12, 0, 0);
  it('takes Unix seconds, fractions to the nanosecond', () => {
    expect(parseEventTime('1700000000', now)).toBe(1_700_000_000_000_000_000n);
    expect(parseEventTime('1700000000.5', now)).toBe(1_700_000_000_500_000_000n);
    expect(parseEventTime('1700000000.000000001', now)).toBe(1_700_000_000_000_000_001n);
  });
  it('takes durations before now', () => {
    expect(parseEventTime('10m', now)).toBe(BigInt(now - 600_000) * 1_000_000n);
    expect(parseEventTime('1h30m', now)).toBe(BigInt(now - 5_400_000) * 1_000_000n);
    expect(parseEventTime('0s', now)).toBe(BigInt(now) * 1_000_000n);
  });
  it('takes RFC 3339 times and dates', () => {
    expect(parseEventTime('2026-12-07T10:00:00Z', now)).toBe(BigInt(Date.UTC(2026, 11, 7, 10)) * 1_000_000n);
    expect(parseEventTime('2026-12-07', now)).toBe(BigInt(Date.UTC(2026, 11, 7)) * 1_000_000n);
    expect(parseEventTime('2026-12-07T10:00:00+01:00', now)).toBe(
      BigInt(Date.UTC(2026, 11, 7, 9)) * 1_000_000n,
    );
  });
  it('refuses anything else', () => {
    for (const s of ['', 'bogus', '10', '-5', '10 m', '2026-13-45', '1e9', '10d'])
      expect(parseEventTime(s, now), s).toBe(s === '10' ? 10_000_000_000n : undefined);
  });
});

describe('event filters', () => {
  it('parses docker key=value filters and refuses unknown keys', () => {
    expect(parseEventFilters(['event=die', 'event=start', 'container=web'])).toEqual({
      ok: new Map([
        ['event', ['die', 'start']],
        ['container', ['web']],
      ]),
    });
    expect(parseEventFilters(['bogus=1'])).toEqual({ error: 'invalid filter "bogus=1"' });
    expect(parseEventFilters(['event'])).toEqual({ error: 'invalid filter "event"' });
  });
  it('values of one key are alternatives, keys must all hold', () => {
    const f = (pairs: string[]) => {
      const p = parseEventFilters(pairs);
      if ('error' in p) throw new Error(p.error);
      return eventMatcher(p.ok);
    };
    expect(f(['event=die'])(ev())).toBe(true);
    expect(f(['event=start', 'event=die'])(ev())).toBe(true);
    expect(f(['event=start'])(ev())).toBe(false);
    expect(f(['event=die', 'container=other'])(ev())).toBe(false);
    expect(f(['container=web'])(ev())).toBe(true);
    expect(f(['container=abab'])(ev())).toBe(true);
    expect(f(['image=moat/busybox', 'type=container'])(ev())).toBe(true);
    expect(f(['label=tier'])(ev())).toBe(true);
    expect(f(['label=tier=front'])(ev())).toBe(true);
    expect(f(['label=tier=back'])(ev())).toBe(false);
    expect(f(['event=exec_start'])(ev({ action: 'exec_start: sh -c true' }))).toBe(true);
    expect(f([])(ev())).toBe(true);
  });
  it("reads the API's JSON filters in both of docker's forms", () => {
    expect(filtersFromJson({ event: ['die'], container: { web: true } })).toEqual(
      new Map([
        ['event', ['die']],
        ['container', ['web']],
      ]),
    );
    expect(filtersFromJson({ nope: ['x'] })).toBeUndefined();
    expect(filtersFromJson(['event'])).toBeUndefined();
    expect(filtersFromJson({ event: [1] })).toBeUndefined();
  });
});

describe("docker's shapes", () => {
  it('prints the text line with sorted attributes and nanoseconds', () => {
    expect(eventLine(ev())).toBe(
      `2026-12-07T05:47:50.377236398Z container die ${'ab'.repeat(32)} (exitCode=3, image=moat/busybox, name=web, tier=front)`,
    );
  });
  it('builds the JSON message', () => {
    expect(dockerEvent(ev())).toMatchObject({
      status: 'die',
      id: 'ab'.repeat(32),
      from: 'moat/busybox',
      Type: 'container',
      Action: 'die',
      Actor: { ID: 'ab'.repeat(32), Attributes: { name: 'web', exitCode: '3' } },
      scope: 'local',
      time: 1796622470,
    });
  });
});
