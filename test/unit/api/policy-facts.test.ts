/**
 * What the default policy decides on the facts moat computes for a run: canonical mount sources,
 * the seccomp summary, every name and digest of the image, the paths moat protects.
 */
import { mkdtempSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { protectedPaths } from '../../../src/api/host-facts.js';
import { imageFacts } from '../../../src/api/image-facts.js';
import { regoHook, runSummary, seccompFacts } from '../../../src/api/policy-hook.js';
import type { DecisionInput } from '../../../src/api/router.js';
import type { ImageRecord } from '../../../src/image/types.js';
import type { ContainerPlan } from '../../../src/runtime/engine.js';
import { defaultRunOptions, type RunOptions } from '../../../src/runtime/options.js';
import { defaultProfile, resolveSeccomp, type LinuxSeccomp } from '../../../src/seccomp/index.js';
import type { MoatPaths } from '../../../src/util/paths.js';

const POLICIES = fileURLToPath(new URL('../../../policies/', import.meta.url));
const image: ImageRecord = {
  id: `sha256:${'b'.repeat(64)}`,
  manifestDigest: `sha256:${'a'.repeat(64)}`,
  names: ['localhost/app:1'],
  created: '2026-01-01T00:00:00Z',
  layers: [],
  size: 0,
};
const defaultFilter = resolveSeccomp(defaultProfile(), { capabilities: [], arch: process.arch });

function plan(
  opts: Partial<RunOptions>,
  seccomp: LinuxSeccomp | null = defaultFilter,
  digest?: string,
): ContainerPlan {
  return {
    id: 'x',
    name: 'n',
    opts: { ...defaultRunOptions('localhost/app:1'), ...opts },
    image,
    lowerdir: '/l',
    spec: { process: { user: { uid: 0, gid: 0 } }, linux: seccomp ? { seccomp } : {} },
    limits: {},
    warnings: [],
    seccompDigest: digest,
  } as unknown as ContainerPlan;
}

function input(p: ContainerPlan, paths: MoatPaths): DecisionInput {
  return {
    subject: { uid: 1000, user: 'u', via: 'cli' },
    method: 'POST',
    path: '/containers/run',
    action: 'container.run',
    params: {},
    body: {},
    facts: { plan: p, image: imageFacts(p.image, p.opts.image), host: protectedPaths(paths, [POLICIES]) },
  };
}

describe('run facts', () => {
  it('mount sources are canonical, with what was typed beside them', () => {
    const b = realpathSync(mkdtempSync(path.join(tmpdir(), 'moat-facts-')));
    symlinkSync('/proc', path.join(b, 'link'));
    const s = runSummary(
      plan({
        volumes: [
          { host: '//etc/', container: '/a', readonly: true },
          { host: path.join(b, 'link'), container: '/b', readonly: false },
        ],
      }),
    );
    expect(s.mounts).toEqual([
      { type: 'bind', source: '/etc', raw_source: '//etc/', destination: '/a', readonly: true },
      { type: 'bind', source: '/proc', raw_source: path.join(b, 'link'), destination: '/b', readonly: false },
    ]);
  });

  it('seccomp: the default profile, or a custom one with its digest and whether it is looser', () => {
    expect(seccompFacts(plan({}))).toMatchObject({
      profile: 'default',
      default_action: 'SCMP_ACT_ERRNO',
      looser_than_default: false,
    });
    const loose: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] };
    const d = `sha256:${'c'.repeat(64)}`;
    expect(seccompFacts(plan({ seccompProfile: '/tmp/../tmp/p.json' }, loose, d))).toEqual({
      profile: 'custom',
      file: '/tmp/p.json',
      raw_file: '/tmp/../tmp/p.json',
      digest: d,
      default_action: 'SCMP_ACT_ALLOW',
      rule_count: 0,
      looser_than_default: true,
      loosened: ['defaultAction'],
      loosened_count: 1,
    });
    expect(seccompFacts(plan({}, null))).toMatchObject({ profile: 'unconfined', looser_than_default: true });
  });
});

describe('the default policy on these facts', () => {
  const b = realpathSync(mkdtempSync(path.join(tmpdir(), 'moat-facts-')));
  const paths = { data: path.join(b, 'data', 'moat'), runtime: path.join(b, 'run', 'moat') } as MoatPaths;
  const hook = regoHook([POLICIES]);

  it('refuses a symlink to /proc, moat state, and a looser seccomp profile; allows the rest', async () => {
    symlinkSync('/proc', path.join(b, 'proclink'));
    const deny = async (o: Partial<RunOptions>, sc?: LinuxSeccomp, d?: string) =>
      (await hook(input(plan(o, sc, d), paths))).reasons;
    expect(
      await deny({ volumes: [{ host: path.join(b, 'proclink'), container: '/p', readonly: true }] }),
    ).toEqual([`mounting host path ${path.join(b, 'proclink')} (/proc) is not allowed`]);
    expect(await deny({ volumes: [{ host: `${b}//run/./moat`, container: '/p', readonly: true }] })).toEqual([
      `mounting host path ${b}//run/./moat (${b}/run/moat) is not allowed`,
    ]);
    const d = `sha256:${'c'.repeat(64)}`;
    const loose = await deny({ seccompProfile: '/p.json' }, { defaultAction: 'SCMP_ACT_ALLOW' }, d);
    expect(loose.join()).toMatch(
      /seccomp profile \/p.json lets through what the default profile blocks \(defaultAction\)/,
    );
    expect(await deny({ volumes: [{ host: b, container: '/p', readonly: true }] })).toEqual([
      `mounting host path ${b} is not allowed: it contains ${b}/run/moat and 1 more`,
    ]);
    expect(
      await deny({ volumes: [{ host: path.join(b, 'data'), container: '/p', readonly: true }] }),
    ).toEqual([]);
    expect(await deny({})).toEqual([]);
  });
});
