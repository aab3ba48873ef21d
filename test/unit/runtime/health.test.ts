import { describe, expect, it } from 'vitest';
import {
  nextHealth,
  parseDuration,
  resolveHealth,
  type HealthState,
} from '../../../src/runtime/health/config.js';

describe('health check configuration', () => {
  it('parses Go durations', () => {
    expect(parseDuration('--health-interval', '30s')).toBe(30_000);
    expect(parseDuration('--health-interval', '1m30s')).toBe(90_000);
    expect(parseDuration('--health-interval', '500ms')).toBe(500);
    expect(parseDuration('--health-interval', '0')).toBe(0);
    expect(() => parseDuration('--health-interval', '30')).toThrow(/invalid --health-interval "30"/);
    expect(() => parseDuration('--health-interval', '-1s')).toThrow();
  });

  it("takes the image's HEALTHCHECK, under the run flags", () => {
    const image = {
      Test: ['CMD', '/bin/check', '--quick'],
      Interval: 5e9,
      Timeout: 2e9,
      Retries: 4,
      StartPeriod: 1e9,
    };
    expect(resolveHealth(undefined, image)).toEqual({
      cmd: ['/bin/check', '--quick'],
      intervalMs: 5000,
      timeoutMs: 2000,
      retries: 4,
      startPeriodMs: 1000,
      onFailure: 'none',
    });
    expect(resolveHealth({ cmd: 'test -f /ok', interval: 1000 }, image)).toMatchObject({
      cmd: ['/bin/sh', '-c', 'test -f /ok'],
      intervalMs: 1000,
      timeoutMs: 2000,
      retries: 4,
    });
    expect(resolveHealth({ none: true }, image)).toBeUndefined();
    expect(resolveHealth({ test: ['NONE'] }, image)).toBeUndefined();
    expect(resolveHealth(undefined, { Test: ['NONE'] })).toBeUndefined();
    expect(resolveHealth(undefined, undefined)).toBeUndefined();
    expect(resolveHealth({ interval: 1000 }, undefined)).toBeUndefined();
    expect(resolveHealth({ test: ['CMD-SHELL', 'exit 0'] }, undefined)).toMatchObject({
      cmd: ['/bin/sh', '-c', 'exit 0'],
      intervalMs: 30_000,
      retries: 3,
    });
    expect(() => resolveHealth({ cmd: 'true', interval: 10 }, undefined)).toThrow(/at least 100ms/);
    expect(() => resolveHealth({ cmd: 'true', retries: 0 }, undefined)).toThrow(/--health-retries/);
  });
});

describe('health state (docker rules)', () => {
  const c = { retries: 2, startPeriodMs: 1000 };
  const t0 = Date.parse('2026-12-07T10:00:00Z');
  const at = (ms: number, exitCode: number) => ({
    start: new Date(t0 + ms).toISOString(),
    end: new Date(t0 + ms + 5).toISOString(),
    exitCode,
    output: '',
  });
  const start: HealthState = { status: 'starting', failingStreak: 0, log: [] };

  it('failures in the start period do not count; retries failures in a row are unhealthy; a success heals', () => {
    let s = nextHealth(start, at(100, 1), c, t0);
    expect(s).toMatchObject({ status: 'starting', failingStreak: 0 });
    s = nextHealth(s, at(1500, 1), c, t0);
    expect(s).toMatchObject({ status: 'starting', failingStreak: 1 });
    s = nextHealth(s, at(2500, 1), c, t0);
    expect(s).toMatchObject({ status: 'unhealthy', failingStreak: 2 });
    s = nextHealth(s, at(3500, 0), c, t0);
    expect(s).toMatchObject({ status: 'healthy', failingStreak: 0 });
    s = nextHealth(s, at(4500, 1), c, t0);
    expect(s).toMatchObject({ status: 'healthy', failingStreak: 1 });
    expect(s.log).toHaveLength(5);
    s = nextHealth(s, at(5500, 1), c, t0);
    expect(s.log).toHaveLength(5); // the last five are kept
    expect(s.status).toBe('unhealthy');
  });
});
