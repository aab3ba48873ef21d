/**
 * Fields of Docker's create body that moat has no counterpart for are refused when set, never
 * dropped. The fixture is what docker CLI 28 sends for `docker create moat/busybox true`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runOptionsFromDocker } from '../../../src/api/docker/index.js';
import { MoatError } from '../../../src/errors.js';

type Body = Record<string, unknown> & { HostConfig: Record<string, unknown> };
const plain = (): Body =>
  JSON.parse(readFileSync(new URL('./fixtures/docker-create-body.json', import.meta.url), 'utf8')) as Body;

function refusal(change: (b: Body) => void): string | undefined {
  const b = plain();
  change(b);
  try {
    runOptionsFromDocker(b, null);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(MoatError);
    expect((e as MoatError).code).toBe('API_INVALID_REQUEST');
    return (e as MoatError).message;
  }
}

describe('create bodies: what moat would drop is refused', () => {
  it('what the docker CLI sends by default passes', () => {
    expect(refusal(() => {})).toBeUndefined();
    expect(runOptionsFromDocker(plain(), null).cmd).toEqual(['true']);
  });

  it('Docker’s named defaults pass: --restart no, --log-driver json-file, --network none, --memory-swap = --memory', () => {
    expect(
      refusal((b) => (b.HostConfig.RestartPolicy = { Name: 'no', MaximumRetryCount: 0 })),
    ).toBeUndefined();
    expect(refusal((b) => (b.HostConfig.LogConfig = { Type: 'json-file', Config: {} }))).toBeUndefined();
    expect(refusal((b) => (b.HostConfig.NetworkMode = 'none'))).toBeUndefined();
    expect(
      refusal((b) => Object.assign(b.HostConfig, { Memory: 64 << 20, MemorySwap: 64 << 20 })),
    ).toBeUndefined();
  });

  it('flags whose effect moat does not have are refused, named as the user typed them', () => {
    const cases: [(b: Body) => void, RegExp][] = [
      [(b) => (b.HostConfig.Links = ['db:db']), /^--link is not supported/],
      [(b) => (b.HostConfig.VolumeDriver = 'nfs'), /^--volume-driver is not supported/],
      [(b) => (b.HostConfig.CpuShares = 512), /^--cpu-shares .*use --cpus/],
      [
        (b) =>
          ((b.NetworkingConfig as Body).EndpointsConfig = {
            default: { IPAMConfig: { IPv4Address: '10.1.0.9' } },
          }),
        /^--ip\/--ip6 is not supported by moat/,
      ],
      [(b) => (b.HostConfig.PidMode = 'container:db'), /^--pid=container:db is not supported/],
      [(b) => (b.StopSignal = 'SIGINT'), /^--stop-signal/],
      [
        (b) => (b.HostConfig.SomethingNew = { On: true }),
        /^HostConfig\.SomethingNew is not supported by moat/,
      ],
    ];
    for (const [change, msg] of cases) expect(refusal(change) ?? 'accepted', String(msg)).toMatch(msg);
  });
});
