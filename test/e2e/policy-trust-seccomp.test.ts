/**
 * Issue 10, seccomp: the policy sees which profile a container gets (its digest, default action,
 * size, and whether it lets through anything moat's default profile blocks), and the default
 * policy refuses a looser one unless its digest is excepted — through the CLI and moat's /v1 API;
 * the Docker API takes no profile at all.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultProfile } from '../../src/seccomp/index.js';
import { moat, uniq } from './moat.js';
import type { World } from './registry-helpers.js';
import { docker, http, IMG, trustWorld, v1Create, withData, withService } from './policy-trust-helpers.js';

let w: World & { id: string; digest: string };
let dir = '';
let loose = '';
let narrow = '';
const sha = (f: string) => `sha256:${createHash('sha256').update(readFileSync(f)).digest('hex')}`;

beforeAll(async () => {
  w = await trustWorld('trust-sec');
  dir = path.join(w.env.HOME!, 'profiles');
  mkdirSync(dir);
  // Docker's style: allow everything but a few calls.
  loose = path.join(dir, 'allow.json');
  writeFileSync(
    loose,
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    }),
  );
  // moat's default profile without mkdir: narrower, so no exception is needed.
  narrow = path.join(dir, 'narrow.json');
  const p = defaultProfile();
  p.syscalls = (p.syscalls ?? [])
    .map((r) => ({ ...r, names: r.names.filter((n) => n !== 'mkdir' && n !== 'mkdirat') }))
    .filter((r) => r.names.length > 0);
  writeFileSync(narrow, JSON.stringify(p));
});

describe('custom seccomp profiles', () => {
  it('a profile looser than the default is refused unless its digest is excepted: CLI', async () => {
    const r = await w.moat(['run', '--rm', '--security-opt', `seccomp=${loose}`, IMG, 'true']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(
      `seccomp profile ${loose} lets through what the default profile blocks (defaultAction); to allow it, list its digest ${sha(loose)} in data.moat.seccomp_exceptions`,
    );
    const env = withData(w, { moat: { seccomp_exceptions: [sha(loose)] } });
    const ok = await moat(
      ['run', '--rm', '--security-opt', `seccomp=${loose}`, IMG, 'sh', '-c', 'mkdir /tmp/d'],
      {
        env,
      },
    );
    expect(ok.code).toBe(1);
    expect(ok.stderr).toMatch(/Operation not permitted/);
    // Another file with the same name but other bytes is another profile.
    const other = withData(w, { moat: { seccomp_exceptions: [`sha256:${'0'.repeat(64)}`] } });
    expect(
      (await moat(['run', '--rm', '--security-opt', `seccomp=${loose}`, IMG, 'true'], { env: other })).code,
    ).toBe(3);
  });

  it('a profile narrower than the default needs no exception', async () => {
    const r = await w.moat([
      'run',
      '--rm',
      '--security-opt',
      `seccomp=${narrow}`,
      IMG,
      'sh',
      '-c',
      'mkdir /tmp/d 2>/dev/null; echo rc=$?',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('rc=1\n');
  });

  it('/v1: the same decision; docker: no profile can be chosen at all', async () => {
    await withService(w, {}, async (s) => {
      const api = await v1Create(s, { image: IMG, seccompProfile: loose });
      expect(api.status).toBe(403);
      expect(api.body.message).toMatch(/seccomp profile .* lets through what the default profile blocks/);
      const ok = await v1Create(s, { image: IMG, seccompProfile: narrow });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect((await http(s, 'DELETE', `/v1/containers/${ok.body.id}`)).status).toBe(200);
      const d = docker(s, w, ['run', '--rm', '--security-opt', `seccomp=${loose}`, IMG, 'true']);
      expect(d.code).not.toBe(0);
      expect(d.stderr).toMatch(/seccomp profile and no_new_privs always apply/);
    });
  });

  it('a policy of its own sees the summary: profile, canonical file, digest, default action, rules, looser', async () => {
    const pol = path.join(w.env.HOME!, uniq('pol'));
    mkdirSync(pol);
    writeFileSync(
      path.join(pol, 'p.rego'),
      'package moat.authz\nimport rego.v1\ndeny contains json.marshal(input.facts.run.seccomp) if input.action == "container.run"\ndecision := {"allow": count(deny) == 0, "deny": deny}\n',
    );
    const link = path.join(dir, uniq('link'));
    symlinkSync(loose, link);
    const r = await moat(['run', '--rm', '--security-opt', `seccomp=${link}`, IMG, 'true'], {
      env: { ...w.env, MOAT_POLICY: pol },
    });
    const m = /decision: (\{.*\}) \[POLICY_DENIED\]/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(JSON.parse(m![1])).toEqual({
      profile: 'custom',
      file: loose,
      raw_file: link,
      digest: sha(loose),
      default_action: 'SCMP_ACT_ALLOW',
      rule_count: 1,
      looser_than_default: true,
      loosened: ['defaultAction'],
      loosened_count: 1,
    });
  });
});
