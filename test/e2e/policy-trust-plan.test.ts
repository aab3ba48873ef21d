/**
 * Issue 10, "facts are reads" and "what runc mounts is what the policy saw":
 *   - planning a run is side-effect free: a denied run or create unpacks no image root and
 *     writes no container, and a host path that does not exist is refused by the policy
 *     (POLICY_DENIED), not reported missing before the decision;
 *   - a bind-mount source swapped between create and start (for a symlink to somewhere else, or
 *     for another directory) is refused at start with RUNTIME_HOST_PATH_CHANGED, through the CLI
 *     and moat's /v1 API; the directory put back starts again;
 *   - a seccomp profile is read once, at create: changing or swapping the file later changes
 *     nothing.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultProfile } from '../../src/seccomp/index.js';
import { uniq } from './moat.js';
import type { World } from './registry-helpers.js';
import { http, IMG, trustWorld, v1Create, withService } from './policy-trust-helpers.js';

let w: World & { id: string; digest: string };
let home = '';
let data = '';

beforeAll(async () => {
  // A store of its own: the image is imported, never unpacked (no run has used it yet).
  w = await trustWorld('trust-plan');
  home = w.env.HOME!;
  data = path.join(w.env.XDG_DATA_HOME!, 'moat');
});

const rootfsEntries = () =>
  readdirSync(path.join(data, 'storage', 'rootfs'), { withFileTypes: true }).map((e) => e.name);
const containerEntries = () =>
  existsSync(path.join(data, 'containers')) ? readdirSync(path.join(data, 'containers')) : [];

/** Create a container, then start it: the start's result. */
async function createThenStart(args: string[], between: () => void) {
  const c = await w.moat(['create', ...args]);
  expect(c.code, c.stderr).toBe(0);
  const id = c.stdout.trim().split('\n').at(-1)!;
  between();
  return { id, start: await w.moat(['start', id]) };
}

async function output(id: string): Promise<string> {
  expect((await w.moat(['wait', id])).code).toBe(0);
  return (await w.moat(['logs', id])).stdout;
}

describe('a run is planned without side effects', () => {
  it('a denied run or create unpacks nothing and writes no container (CLI, /v1)', async () => {
    const hex = w.id.replace(/^sha256:/, '');
    const none = () => rootfsEntries().filter((n) => n.includes(hex.slice(0, 12)));
    mkdirSync(path.join(data, 'storage', 'rootfs'), { recursive: true });
    expect(none()).toEqual([]);
    const denied = await w.moat(['run', '--rm', '--cap-add', 'SYS_ADMIN', IMG, 'true']);
    expect(denied.code, denied.stderr).toBe(3);
    expect(denied.stderr).toMatch(/\[POLICY_DENIED\]/);
    const created = await w.moat(['create', '-v', '/proc:/x', IMG, 'true']);
    expect(created.code, created.stderr).toBe(3);
    await withService(w, {}, async (s) => {
      const api = await v1Create(s, { image: IMG, capAdd: ['SYS_ADMIN'] });
      expect(api.status, JSON.stringify(api.body)).toBe(403);
      expect(api.body.code).toBe('POLICY_DENIED');
    });
    expect(none()).toEqual([]);
    expect(containerEntries()).toEqual([]);
    // Allowed, the same run unpacks the root then (so the checks above can see one).
    const ok = await w.moat(['run', '--rm', IMG, 'true']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(none()).toContain(hex);
  });

  it('a host path that does not exist is judged by the policy, not reported missing first', async () => {
    const r = await w.moat(['run', '--rm', '-v', '/proc/moat-no-such:/x', IMG, 'true']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/mounting host path \/proc\/moat-no-such is not allowed.*\[POLICY_DENIED\]/);
    expect(r.stderr).not.toMatch(/does not exist/);
    // Allowed by the policy, a missing source is reported then.
    const missing = await w.moat(['run', '--rm', '-v', `${home}/moat-no-such:/x`, IMG, 'true']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/volume source .*moat-no-such does not exist/);
    expect(containerEntries()).toEqual([]);
  });
});

describe('a bind-mount source changed between create and start', () => {
  const marked = (name: string, text: string) => {
    const d = path.join(home, uniq(name));
    mkdirSync(d);
    writeFileSync(path.join(d, 'marker'), text);
    return d;
  };

  it("swapped for a symlink (to moat's own data, to another directory): refused; put back: starts", async () => {
    const dir = marked('vol', 'original');
    const other = marked('other', 'elsewhere');
    for (const target of [data, other]) {
      const { id, start } = await createThenStart(
        ['-v', `${dir}:/mnt:ro`, IMG, 'sh', '-c', 'ls /mnt; cat /mnt/marker'],
        () => {
          renameSync(dir, `${dir}.away`);
          symlinkSync(target, dir);
        },
      );
      expect(start.code, start.stderr).not.toBe(0);
      if (target === data) {
        // The start's own facts may already show the policy the path as it resolves now (moat's
        // data: denied); if not, the pin refuses it. Either way it does not run.
        expect(start.stderr).toMatch(/\[(RUNTIME_HOST_PATH_CHANGED|POLICY_DENIED)\]/);
      } else {
        expect(start.stderr).toMatch(
          new RegExp(
            `mount source ${dir} changed since the container was created.*\\[RUNTIME_HOST_PATH_CHANGED\\]`,
          ),
        );
      }
      expect((await w.moat(['logs', id])).stdout).toBe('');
      // The directory the policy saw, back at its path: the container starts and sees it.
      rmSync(dir);
      renameSync(`${dir}.away`, dir);
      const again = await w.moat(['start', id]);
      expect(again.code, again.stderr).toBe(0);
      expect(await output(id)).toBe('marker\noriginal');
      expect((await w.moat(['rm', id])).code).toBe(0);
    }
  });

  it('replaced by another directory, or removed: refused (CLI and /v1)', async () => {
    const dir = marked('vol', 'original');
    const { id, start } = await createThenStart(['-v', `${dir}:/mnt`, IMG, 'cat', '/mnt/marker'], () => {
      renameSync(dir, `${dir}.away`);
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'marker'), 'impostor');
    });
    expect(start.stderr).toMatch(/another file or directory is there now.*\[RUNTIME_HOST_PATH_CHANGED\]/);
    rmSync(dir, { recursive: true });
    const gone = await w.moat(['start', id]);
    expect(gone.stderr).toMatch(/it is gone.*\[RUNTIME_HOST_PATH_CHANGED\]/);
    await withService(w, {}, async (s) => {
      const r = await http(s, 'POST', `/v1/containers/${id}/start`, '{}');
      expect(r.status, r.body).toBe(409);
      expect(JSON.parse(r.body)).toEqual(expect.objectContaining({ code: 'RUNTIME_HOST_PATH_CHANGED' }));
    });
    expect((await w.moat(['logs', id])).stdout).toBe('');
  });

  it('a file mounted on a file runs, from the file pinned at create', async () => {
    const dir = marked('file', 'x');
    const file = path.join(dir, 'marker');
    const r = await w.moat(['run', '--rm', '-v', `${file}:/etc/marker:ro`, IMG, 'cat', '/etc/marker']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('x');
  });
});

describe('a seccomp profile is read once, at create', () => {
  it('changing the file, or swapping it for a symlink to another, before start changes nothing', async () => {
    const dir = path.join(home, uniq('profiles'));
    mkdirSync(dir);
    // moat's default profile without mkdir: narrower, so the default policy allows it.
    const p = defaultProfile();
    p.syscalls = (p.syscalls ?? [])
      .map((r) => ({ ...r, names: r.names.filter((n) => n !== 'mkdir' && n !== 'mkdirat') }))
      .filter((r) => r.names.length > 0);
    const narrow = path.join(dir, 'narrow.json');
    const allowAll = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW' });
    writeFileSync(path.join(dir, 'allow.json'), allowAll);
    for (const swap of [
      () => writeFileSync(narrow, allowAll),
      () => {
        rmSync(narrow);
        symlinkSync(path.join(dir, 'allow.json'), narrow);
      },
    ]) {
      rmSync(narrow, { force: true });
      writeFileSync(narrow, JSON.stringify(p));
      const { id, start } = await createThenStart(
        ['--security-opt', `seccomp=${narrow}`, IMG, 'sh', '-c', 'mkdir /tmp/d 2>/dev/null; echo rc=$?'],
        swap,
      );
      expect(start.code, start.stderr).toBe(0);
      expect(await output(id)).toBe('rc=1\n');
      expect((await w.moat(['rm', id])).code).toBe(0);
    }
  });
});
