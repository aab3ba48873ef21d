/** The policy decides every request: the default policy, a custom one, and a broken one. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { inject } from 'vitest';
import { bin, env, IMAGE, moat, uniq } from './moat.js';

function moatWithPolicy(policyDir: string, args: string[]) {
  const r = spawnSync(process.execPath, [bin(), ...args], {
    env: { ...env(), MOAT_POLICY: policyDir },
    encoding: 'utf8',
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe('policy on the request path', () => {
  it('the default policy refuses dangerous capabilities and host system mounts (exit 3)', async () => {
    const cap = await moat(['run', '--rm', '--cap-add', 'SYS_ADMIN', IMAGE, 'true']);
    expect(cap.code).toBe(3);
    expect(cap.stderr).toMatch(/POLICY_DENIED/);
    expect(cap.stderr).toMatch(/capability SYS_ADMIN is not allowed/);
    const mnt = await moat(['run', '--rm', '-v', '/etc:/host-etc:ro', IMAGE, 'true']);
    expect(mnt.code).toBe(3);
    expect(mnt.stderr).toMatch(/mounting host path \/etc is not allowed/);
    const ok = await moat(['run', '--rm', '--cap-add', 'NET_BIND_SERVICE', IMAGE, 'true']);
    expect(ok.code).toBe(0);
  });

  it('a custom policy sees the request and the spec about to run', async () => {
    const dir = path.join(inject('moatEnv').base, uniq('policy'));
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'authz.rego'),
      `package moat.authz
import rego.v1
deny contains "exec is disabled here" if input.action == "container.exec"
deny contains "memory limit required" if {
  input.action == "container.run"
  not input.facts.run.limits.memory
}
deny contains "no seccomp" if {
  input.action == "container.run"
  not input.facts.spec.linux.seccomp
}
decision := {"allow": count(deny) == 0, "deny": deny}
`,
    );
    const noLimit = moatWithPolicy(dir, ['run', '--rm', IMAGE, 'true']);
    expect(noLimit.code).toBe(3);
    expect(noLimit.stderr).toMatch(/memory limit required/);
    const name = uniq('pol');
    const run = moatWithPolicy(dir, ['run', '-d', '--name', name, '--memory', '64m', IMAGE, 'sleep', '10']);
    expect(run.code, run.stderr).toBe(0);
    const ex = moatWithPolicy(dir, ['exec', name, 'true']);
    expect(ex.code).toBe(3);
    expect(ex.stderr).toMatch(/exec is disabled here/);
    expect(moatWithPolicy(dir, ['rm', '-f', name]).code).toBe(0);
  });

  it('fails closed when the policy is broken or undefined', async () => {
    const dir = path.join(inject('moatEnv').base, uniq('broken'));
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'authz.rego'),
      'package moat.authz\nimport rego.v1\ndecision := {"allow": true if {\n',
    );
    const r = moatWithPolicy(dir, ['ps']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/POLICY_ERROR/);
    writeFileSync(path.join(dir, 'authz.rego'), 'package moat.other\nimport rego.v1\nx := 1\n');
    const u = moatWithPolicy(dir, ['ps']);
    expect(u.code).toBe(3);
    expect(u.stderr).toMatch(/no decision/);
  });
});
