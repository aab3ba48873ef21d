import { describe, expect, it } from 'vitest';
import { parseRestart, restartDelayMs, shouldRestart } from '../../../src/runtime/restart.js';
import { systemdUnit } from '../../../src/cli/generate.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';

describe('restart policies', () => {
  it("parses docker's --restart values", () => {
    expect(parseRestart('no')).toEqual({ name: 'no' });
    expect(parseRestart('always')).toEqual({ name: 'always' });
    expect(parseRestart('unless-stopped')).toEqual({ name: 'unless-stopped' });
    expect(parseRestart('on-failure')).toEqual({ name: 'on-failure' });
    expect(parseRestart('on-failure:3')).toEqual({ name: 'on-failure', maxRetries: 3 });
    for (const bad of ['sometimes', 'always:2', 'on-failure:x', 'on-failure:-1', 'on-failure:1:2', ''])
      expect(() => parseRestart(bad), bad).toThrow(
        expect.objectContaining({ code: 'RUNTIME_INVALID_OPTION' }),
      );
  });

  it('decides as docker does', () => {
    const ended = (
      exitCode: number,
      o: { manualStop?: boolean; restarts?: number; started?: boolean } = {},
    ) => ({
      exitCode,
      started: o.started ?? true,
      manualStop: o.manualStop ?? false,
      restarts: o.restarts ?? 0,
    });
    expect(shouldRestart(undefined, ended(1))).toBe(false);
    expect(shouldRestart({ name: 'no' }, ended(1))).toBe(false);
    expect(shouldRestart({ name: 'on-failure' }, ended(1))).toBe(true);
    expect(shouldRestart({ name: 'on-failure' }, ended(0))).toBe(false);
    expect(shouldRestart({ name: 'on-failure', maxRetries: 2 }, ended(1, { restarts: 1 }))).toBe(true);
    expect(shouldRestart({ name: 'on-failure', maxRetries: 2 }, ended(1, { restarts: 2 }))).toBe(false);
    expect(shouldRestart({ name: 'always' }, ended(0))).toBe(true);
    expect(shouldRestart({ name: 'unless-stopped' }, ended(137))).toBe(true);
    // stopped by hand, or never started (the command cannot run): no policy runs it again
    expect(shouldRestart({ name: 'always' }, ended(137, { manualStop: true }))).toBe(false);
    expect(shouldRestart({ name: 'always' }, ended(127, { started: false }))).toBe(false);
  });

  it('backs off from 100 ms, doubling, to a minute', () => {
    expect([0, 1, 2, 3].map(restartDelayMs)).toEqual([100, 200, 400, 800]);
    expect(restartDelayMs(10)).toBe(60_000);
    expect(restartDelayMs(1000)).toBe(60_000);
  });
});

describe('moat generate systemd', () => {
  it('starts the container attached, stops it with moat stop, and maps the policy', () => {
    const opts = {
      ...defaultRunOptions('moat/busybox'),
      restart: { name: 'on-failure' as const, maxRetries: 3 },
    };
    const unit = systemdUnit(
      { id: 'a'.repeat(64), name: 'web', image: 'moat/busybox', options: opts },
      { node: '/usr/bin/node', moat: '/opt/moat/bin/moat.js', stopTimeout: 10, now: new Date(0) },
    );
    expect(unit).toContain('ExecStart=/usr/bin/node /opt/moat/bin/moat.js start -a web\n');
    expect(unit).toContain('ExecStop=/usr/bin/node /opt/moat/bin/moat.js stop -t 10 web\n');
    expect(unit).toContain('Restart=on-failure\nStartLimitBurst=3\n');
    expect(unit).toContain('[Install]\nWantedBy=default.target\n');
    const quoted = systemdUnit(
      { id: 'a'.repeat(64), name: 'web', image: 'moat/busybox', options: defaultRunOptions('x') },
      { node: '/opt/my node/node', moat: '/m.js', stopTimeout: 5, now: new Date(0) },
    );
    expect(quoted).toContain('ExecStart="/opt/my node/node" /m.js start -a web\n');
    expect(quoted).toContain('Restart=no\n');
  });
});
