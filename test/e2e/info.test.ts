/** `moat info` and the single-ID mapping fallback. */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { inject } from 'vitest';
import { bin, env, IMAGE, moat, uniq } from './moat.js';

describe('moat info', () => {
  it('reports user namespaces, ID ranges, cgroups, seccomp, Landlock, AppArmor and the runtime', async () => {
    const r = await moat(['info', '--format', 'json']);
    expect(r.code).toBe(0);
    const i = JSON.parse(r.stdout);
    expect(i.user.uid).toBe(process.getuid!());
    expect(Array.isArray(i.user.supplementaryGroups)).toBe(true);
    expect(i.userNamespaces.available).toBe(true);
    expect(i.userNamespaces.mapping).toBe('subordinate');
    expect(i.userNamespaces.subuid[0].count).toBeGreaterThan(0);
    expect(i.userNamespaces.newuidmap).toMatch(/newuidmap$/);
    expect(['v1', 'hybrid', 'v2']).toContain(i.cgroups.version);
    expect(i.security.seccomp).toBe(true);
    expect(typeof i.security.landlock).toBe('string');
    // What the kernel says, read here: "enabled" must not pass for "not enabled".
    const aa = (() => {
      try {
        return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim();
      } catch {
        return '';
      }
    })();
    expect(i.security.apparmor).toBe(aa === 'Y' ? 'enabled' : 'not enabled in this kernel');
    expect(i.runtime.versionText).toMatch(/runc version/);
    expect(i.runtime.version).toMatch(/^\d+\.\d+\.\d+$/);
    // Every advisory listed is one the facts call unfixed, with what moat does about it.
    expect(i.runtime.advisories.map((a: { id: string }) => a.id)).toEqual(i.runtime.unfixed);
    for (const a of i.runtime.advisories) expect(a.mitigation).toBeTruthy();
    expect(i.user.supplementaryGroupsReachContainers).toBe(false);
    expect(i.defaultLimits.unpack).toEqual({ maxBytes: 32 * 1024 ** 3, maxEntries: 1_000_000 });
    // The socket `moat system service` listens on by default: what DOCKER_HOST names.
    expect(i.paths.socket).toBe(path.join(env().XDG_RUNTIME_DIR!, 'moat', 'moat.sock'));
    const text = await moat(['info']);
    expect(text.stdout).toMatch(/userNamespaces:/);
  });

  it("what info says of the caller's supplementary groups is what a container sees", async () => {
    const i = JSON.parse((await moat(['info', '--format', 'json'])).stdout);
    // CI's test user is in a supplementary group (scripts/setup-test-user.sh).
    expect(i.user.supplementaryGroups.length).toBeGreaterThan(0);
    const r = await moat(['run', '--rm', IMAGE, 'sh', '-c', 'grep ^Groups: /proc/self/status']);
    expect(r.code).toBe(0);
    const inside = r.stdout
      .replace(/^Groups:/, '')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    // Subordinate mapping: runc's setgroups replaced them with the image user's (root: none).
    expect(i.user.supplementaryGroupsReachContainers).toBe(false);
    expect(inside).toEqual([]);
  });

  it('falls back to a single-ID mapping without a range, and says so', async () => {
    const base = path.join(inject('moatEnv').base, uniq('single'));
    mkdirSync(path.join(base, 'data'), { recursive: true });
    mkdirSync(path.join(base, 'run'), { recursive: true, mode: 0o700 });
    const e = {
      ...env(),
      XDG_DATA_HOME: path.join(base, 'data'),
      XDG_RUNTIME_DIR: path.join(base, 'run'),
      MOAT_SUBUID_FILE: '/dev/null',
      MOAT_SUBGID_FILE: '/dev/null',
    };
    execFileSync(
      process.execPath,
      [
        path.join(inject('moatEnv').root, 'scripts/build-default-image.mjs'),
        '--out',
        path.join(base, 'rootfs.tar'),
      ],
      { env: e, stdio: 'ignore' },
    );
    const m = (args: string[]) => spawnSync(process.execPath, [bin(), ...args], { env: e, encoding: 'utf8' });
    const info = JSON.parse(m(['info', '--format', 'json']).stdout);
    expect(info.userNamespaces.mapping).toBe('single');
    expect(info.userNamespaces.note).toMatch(/single-ID/);
    const name = uniq('single');
    const r = m(['run', '--name', name, IMAGE, 'sh', '-c', 'cat /proc/self/uid_map; stat -c %u /home/app']);
    expect(r.status).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/).join(' ')),
    ).toEqual([`0 ${process.getuid!()} 1`, '0']);
    expect(r.stderr).toMatch(/single-ID mapping/);
    const insp = JSON.parse(m(['inspect', name]).stdout);
    expect(insp[0].idmapMode).toBe('single');
    expect(Array.isArray(insp[0].supplementaryGroups)).toBe(true);
    // Under the single-ID mapping setgroups is denied: the caller's groups stay (as 65534).
    expect(info.user.supplementaryGroupsReachContainers).toBe(true);
    const g = m(['run', '--rm', IMAGE, 'sh', '-c', 'grep ^Groups: /proc/self/status']);
    expect(g.stdout).toMatch(/65534/);
    const bad = m(['run', '--rm', '-u', '1000', IMAGE, 'true']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/not mapped/);
    m(['rm', name]);
  });
});
