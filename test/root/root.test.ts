/**
 * moat run by root: container root is the start of root's subordinate range, never host root.
 * CI runs this project as root (`npx vitest run --project root`), before the non-root suites.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/moat.js');
let env: NodeJS.ProcessEnv = {};

function moat(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', input });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (process.getuid?.() !== 0)
    throw new Error('the root project must run as root (CI does: npx vitest run --project root)');
  const run = mkdtempSync(path.join(tmpdir(), 'moat-root-run-'));
  // Data under /var/lib (the default for root) in a directory of its own for this run.
  env = { ...process.env, XDG_DATA_HOME: mkdtempSync('/var/tmp/moat-root-data-'), XDG_RUNTIME_DIR: run };
  execFileSync('chmod', ['711', env.XDG_DATA_HOME!, run]);
  execFileSync(
    process.execPath,
    [path.join(root, 'scripts/build-default-image.mjs'), '--out', path.join(run, 'rootfs.tar')],
    { env, stdio: 'ignore' },
  );
});

const sub = readFileSync('/etc/subuid', 'utf8')
  .split('\n')
  .map((l) => l.split(':'))
  .find((p) => p[0] === 'root' || p[0] === '0');

describe('moat as root', () => {
  it("maps container root to root's subordinate range", () => {
    expect(sub, 'root needs a range in /etc/subuid (scripts/setup-test-user.sh adds one)').toBeDefined();
    const r = moat([
      'run',
      '--rm',
      'moat/busybox',
      'sh',
      '-c',
      'cat /proc/self/uid_map; id -u; stat -c %u /home/app; grep CapEff /proc/self/status',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [map, uid, owner, caps] = r.stdout.trim().split('\n');
    expect(map.trim().split(/\s+/).map(Number)).toEqual([0, Number(sub![1]), Number(sub![2])]);
    expect(uid).toBe('0');
    expect(owner).toBe('1000');
    expect(caps).toMatch(/0000000000000000/);
  });

  it('runs detached, execs, stops and removes, with limits', () => {
    const name = `root-${process.pid}`;
    const r = moat([
      'run',
      '-d',
      '--name',
      name,
      '--memory',
      '32m',
      '--pids-limit',
      '20',
      'moat/busybox',
      'sleep',
      '30',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const ex = moat(['exec', name, 'sh', '-c', 'id -u; cat /sys/fs/cgroup/memory/memory.limit_in_bytes']);
    expect(ex.stdout.trim().split('\n')).toEqual(['0', String(32 * 1024 * 1024)]);
    expect(moat(['stop', '-t', '1', name]).code).toBe(0);
    expect(moat(['rm', name]).code).toBe(0);
  });
});

describe('moat pull as root', () => {
  it('unpacks while downloading, shifting owners (hard links once) into the range', async () => {
    const { startFakeRegistry } = await import('../unit/registry/fake-registry.js');
    const { buildImage } = await import('../unit/image/helpers.js');
    const reg = await startFakeRegistry();
    try {
      const img = await buildImage({
        layers: [
          [
            { path: 'bin/', type: 'directory' },
            { path: 'bin/tool', content: 'x', mode: 0o755 },
            { path: 'bin/tool-alias', type: 'link', linkname: 'bin/tool' },
            { path: 'home/', type: 'directory', uid: 1000, gid: 1000 },
            { path: 'home/app', content: 'y', uid: 1000, gid: 1000 },
          ],
        ],
      });
      reg.addImage('root/shift', '1', img);
      // The registry runs in this process: the CLI must run asynchronously.
      const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, 'pull', '-q', `${reg.host}/root/shift:1`], { env });
        let stderr = '';
        child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
      });
      expect(r.code, r.stderr).toBe(0);
      const dir = path.join(env.XDG_DATA_HOME!, 'moat', 'storage', 'rootfs', img.configDigest.slice(7));
      const start = Number(sub![1]);
      const owner = (p: string) => {
        const st = lstatSync(path.join(dir, p));
        return [st.uid, st.gid];
      };
      expect(owner('bin/tool')).toEqual([start, start]);
      expect(owner('bin/tool-alias')).toEqual([start, start]);
      expect(lstatSync(path.join(dir, 'bin/tool')).nlink).toBe(2);
      expect(owner('home/app')).toEqual([start + 1000, start + 1000]);
      expect(owner('etc/hostname')).toEqual([start, start]);
    } finally {
      await reg.close();
    }
  });
});
