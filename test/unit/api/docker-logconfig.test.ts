/**
 * HostConfig.LogConfig (`docker run --log-driver/--log-opt`): max-size and max-file applied,
 * other drivers and options refused with a message the docker CLI prints, and inspect shows
 * the log as it is kept.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { containerInspect, runOptionsFromDocker } from '../../../src/api/docker/index.js';
import { MoatError } from '../../../src/errors.js';
import { logConfigOf } from '../../../src/runtime/logs/index.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import type { ContainerRecord } from '../../../src/runtime/state.js';

type Body = Record<string, unknown> & { HostConfig: Record<string, unknown> };
const withLog = (LogConfig: unknown): Body => {
  const b = JSON.parse(
    readFileSync(new URL('./fixtures/docker-create-body.json', import.meta.url), 'utf8'),
  ) as Body;
  b.HostConfig.LogConfig = LogConfig;
  return b;
};

describe('Docker LogConfig', () => {
  it('what the docker CLI sends without log flags leaves the defaults', () => {
    expect(runOptionsFromDocker(withLog({ Type: '', Config: {} }), null).log).toBeUndefined();
    expect(runOptionsFromDocker(withLog({ Type: 'json-file', Config: {} }), null).log).toBeUndefined();
  });

  it('--log-opt max-size=10m --log-opt max-file=3 are applied', () => {
    const o = runOptionsFromDocker(
      withLog({ Type: 'local', Config: { 'max-size': '10m', 'max-file': '3' } }),
      null,
    );
    expect(o.log).toEqual({ maxSize: 10 * 1024 * 1024, maxFile: 3 });
  });

  it('other drivers and options are refused, named as the user typed them', () => {
    const refusal = (lc: unknown): string => {
      try {
        runOptionsFromDocker(withLog(lc), null);
      } catch (e) {
        expect(e).toBeInstanceOf(MoatError);
        expect((e as MoatError).code).toBe('RUNTIME_INVALID_OPTION');
        return (e as MoatError).message;
      }
      return 'accepted';
    };
    expect(refusal({ Type: 'none', Config: {} })).toMatch(/^--log-driver none is not supported by moat/);
    expect(refusal({ Type: 'syslog', Config: {} })).toMatch(/^--log-driver syslog is not supported by moat/);
    expect(refusal({ Type: '', Config: { compress: 'false' } })).toBe(
      '--log-opt compress is not supported by moat',
    );
    expect(refusal({ Type: '', Config: { 'max-file': '0' } })).toMatch(/^--log-opt max-file=0/);
  });

  it('inspect shows the log as it is kept', () => {
    const rec = {
      id: 'a'.repeat(64),
      name: 'x',
      image: 'img',
      imageId: 'sha256:' + 'b'.repeat(64),
      created: new Date(0).toISOString(),
      status: 'exited',
      command: ['true'],
      options: defaultRunOptions('img'),
      limits: {},
      cgroups: {},
      idmapMode: 'subordinate',
      warnings: [],
      lowerdir: '/x',
      logConfig: logConfigOf({ maxSize: 10 * 1024 * 1024, maxFile: 3 }),
    } as ContainerRecord;
    const host = containerInspect(rec).HostConfig as Record<string, unknown>;
    expect(host.LogConfig).toEqual({ Type: 'local', Config: { 'max-size': '10m', 'max-file': '3' } });
    // A record from before log rotation: the defaults it is kept with now.
    const old = containerInspect({ ...rec, logConfig: undefined }).HostConfig as Record<string, unknown>;
    expect(old.LogConfig).toEqual({ Type: 'local', Config: { 'max-size': '20m', 'max-file': '5' } });
  });
});
