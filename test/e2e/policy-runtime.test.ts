/**
 * The runtime as a policy fact (issue 11): `facts.host.runtime` carries runc's version and the
 * advisories it does not fix, so a platform team can require a minimum version or refuse a
 * runtime with a given advisory open; and the supplementary-groups rule applies only where the
 * caller's groups really reach the container.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { IMG, trustWorld, withData } from './policy-trust-helpers.js';
import { bin } from './moat.js';

function run(env: NodeJS.ProcessEnv, args: string[]) {
  const r = spawnSync(process.execPath, [bin(), ...args], { env, encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe('the runtime in the policy', () => {
  it('data.moat.min_runtime_version refuses an older runc before anything runs', async () => {
    const w = await trustWorld('rt-min');
    const info = JSON.parse(run(w.env, ['info', '--format', 'json']).stdout) as {
      runtime: { version: string; unfixed: string[] };
    };
    const [maj, min] = info.runtime.version.split('.').map(Number);
    const newer = `${maj}.${min + 1}.0`;
    const denied = run(withData(w, { moat: { min_runtime_version: newer } }), ['run', '--rm', IMG, 'true']);
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/POLICY_DENIED/);
    expect(denied.stderr).toContain(`runtime ${info.runtime.version} is older than the minimum ${newer}`);
    const ok = run(withData(w, { moat: { min_runtime_version: info.runtime.version } }), [
      'run',
      '--rm',
      IMG,
      'true',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('data.moat.forbidden_runtime_advisories refuses while one is unfixed', async () => {
    const w = await trustWorld('rt-adv');
    const info = JSON.parse(run(w.env, ['info', '--format', 'json']).stdout) as {
      runtime: { version: string; unfixed: string[] };
    };
    // This host's runc (Debian's 1.1.5) leaves the November 2025 advisories open.
    expect(info.runtime.unfixed.length).toBeGreaterThan(0);
    const open = info.runtime.unfixed[0];
    const denied = run(withData(w, { moat: { forbidden_runtime_advisories: [open] } }), [
      'create',
      IMG,
      'true',
    ]);
    expect(denied.code).toBe(3);
    expect(denied.stderr).toContain(`does not fix ${open}`);
  });

  it('forbidden_groups: a group that does not reach the container (subordinate range) is not held against the caller', async () => {
    const w = await trustWorld('rt-groups');
    const groups = process.getgroups!().filter((g) => g !== process.getgid!());
    expect(groups.length).toBeGreaterThan(0);
    const env = withData(w, { moat: { forbidden_groups: groups } });
    const ok = run(env, ['run', '--rm', IMG, 'true']);
    expect(ok.code, ok.stderr).toBe(0);
    // Under the single-ID mapping the groups do reach it: refused.
    const single = run({ ...env, MOAT_SUBUID_FILE: '/dev/null', MOAT_SUBGID_FILE: '/dev/null' }, [
      'create',
      IMG,
      'true',
    ]);
    expect(single.code).toBe(3);
    expect(single.stderr).toMatch(/supplementary group \d+ of the caller would reach the container/);
  });
});
