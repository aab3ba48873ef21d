/**
 * AppArmor as a non-root user (issue 17): profiles generated for a run of the default image and for
 * a created container with a volume and NET_RAW, each compiled by apparmor_parser -Q -K (this
 * kernel has no AppArmor: nothing can be loaded, the parser only compiles); a named profile refused
 * before anything is made where AppArmor is not enabled; `moat info` says which.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { inject } from 'vitest';
import { IMAGE, moat, uniq } from './moat.js';

const PARSER = ['/usr/sbin/apparmor_parser', '/sbin/apparmor_parser'].find(
  (p) => spawnSync(p, ['--version']).status === 0,
);
const withParser = (name: string, fn: () => Promise<void>) =>
  PARSER
    ? it(name, fn, 60_000)
    : it.skip(`${name} [SKIPPED: apparmor_parser is not installed; apt-get install apparmor]`, fn);

/** apparmor_parser -Q -K on a file (as this user): throws with its output if it refuses it. */
function parses(file: string): void {
  execFileSync(PARSER!, ['-Q', '-K', file], { stdio: ['ignore', 'ignore', 'pipe'] });
}

const enabled = (() => {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
})();

let dir = '';
const name = uniq('aa');

beforeAll(async () => {
  dir = path.join(inject('moatEnv').base, uniq('apparmor'));
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const r = await moat([
    'create',
    '--name',
    name,
    '-v',
    `${path.join(dir, 'data')}:/data`,
    '-v',
    `${dir}:/conf:ro`,
    '--cap-add',
    'NET_RAW',
    IMAGE,
    'true',
  ]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await moat(['rm', '-f', name]);
});

describe('moat apparmor generate', () => {
  withParser('--image: the profile of a default run, accepted by apparmor_parser -Q -K', async () => {
    const file = path.join(dir, 'busybox.profile');
    const r = await moat(['apparmor', 'generate', '--image', IMAGE, '-o', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`profile moat-busybox (checked by ${PARSER})`);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('profile moat-busybox flags=(attach_disconnected,mediate_deleted) {');
    expect(text).toContain('deny network raw,');
    expect(text).toContain('deny mount,');
    parses(file);
    // nothing was created for it
    const ps = await moat(['ps', '-a', '--format', '{{.Names}}']);
    expect(ps.stdout.split('\n').filter((n) => n.startsWith('moat_'))).toEqual([]);
  });

  withParser('a created container with a volume and NET_RAW: its own rules, accepted too', async () => {
    const file = path.join(dir, 'ctr.profile');
    const r = await moat(['apparmor', 'generate', name, '-o', file]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(`profile moat-${name} flags=(attach_disconnected,mediate_deleted) {`);
    expect(text).toContain('"/data{,/**}" wl,');
    expect(text).toContain('deny "/conf{,/**}" wl,');
    expect(text).toContain('capability net_raw,');
    expect(text).not.toContain('deny network raw,');
    // the host's paths are not in it: the container's are
    expect(text).not.toContain(dir);
    parses(file);
  });

  withParser('to stdout, as JSON, and the generic moat-default', async () => {
    const r = await moat(['apparmor', 'generate', '--default']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('profile moat-default flags=(attach_disconnected,mediate_deleted) {');
    const j = await moat([
      'apparmor',
      'generate',
      '--image',
      IMAGE,
      '--profile-name',
      'moat-x',
      '--format',
      'json',
    ]);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ name: 'moat-x', validated: true, parser: PARSER });
  });

  it('names one source; a bad profile name is refused', async () => {
    expect((await moat(['apparmor', 'generate'])).code).toBe(2);
    expect((await moat(['apparmor', 'generate', name, '--default'])).code).toBe(2);
    const bad = await moat(['apparmor', 'generate', name, '--profile-name', 'a/b', '--format', 'json']);
    expect(bad.code).toBe(2);
    const missing = await moat(['apparmor', 'generate', uniq('nosuch'), '--format', 'json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr || missing.stdout).error.code).toBe('RUNTIME_CONTAINER_NOT_FOUND');
  });
});

describe('--security-opt apparmor=NAME', () => {
  it.skipIf(enabled)('is refused before anything is made where AppArmor is not enabled', async () => {
    const n = uniq('aaref');
    const r = await moat(['run', '--rm', '--name', n, '--security-opt', 'apparmor=moat-x', IMAGE, 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '--security-opt apparmor=moat-x: AppArmor is not enabled on this host, so no profile can be applied',
    );
    expect(r.stderr).toMatch(/hint: /);
    const ps = await moat(['ps', '-a', '--format', '{{.Names}}']);
    expect(ps.stdout.split('\n')).not.toContain(n);
  });

  it('apparmor=unconfined is accepted (none), and an unsafe name is refused', async () => {
    const ok = await moat(['run', '--rm', '--security-opt', 'apparmor=unconfined', IMAGE, 'true']);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await moat(['run', '--rm', '--security-opt', 'apparmor=../x', IMAGE, 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a profile name');
  });
});

describe('moat info', () => {
  it('says whether AppArmor is enabled and which moat profiles are loaded', async () => {
    const r = await moat(['info', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const sec = JSON.parse(r.stdout).security;
    expect(sec.apparmor).toBe(enabled ? 'enabled' : 'not enabled in this kernel');
    if (!enabled) expect(sec.apparmorProfiles).toMatchObject({ moat: [], default: null });
    else expect(sec.apparmorProfiles).toHaveProperty('default');
  });
});
