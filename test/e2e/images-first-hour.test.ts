/**
 * What a new user hits in the first hour with images (issue 9, items 6, 9, 10 and 11): removing
 * an image a container uses, rootfs tars made by an ordinary user, import/load from stdin and
 * missing files, and `image prune` of dangling images. Stores that get pruned are private worlds,
 * so that nothing here removes what the other test files use.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { buildOciLayoutTar, type LayerEntry } from '../unit/image/helpers.js';
import { bin, env, moat, uniq, type Result } from './moat.js';
import { needTools, startRegistry, world, type Registry, type World } from './registry-helpers.js';

let dir = '';

/** A root filesystem made the way a user makes one: files in a directory, then GNU tar. */
function userRootfsTar(name: string, hello: string, rootMode = 0o755): string {
  const root = path.join(dir, `${name}-root`);
  for (const d of ['bin', 'etc', 'data']) mkdirSync(path.join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'cat', 'sleep', 'ls', 'stat']) symlinkSync('busybox', path.join(root, 'bin', a));
  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(path.join(root, 'data/hello'), hello);
  chmodSync(root, rootMode);
  const file = path.join(dir, `${name}.tar`);
  execFileSync('tar', ['-C', root, '-cf', file, '.']);
  return file;
}

/** Run moat with its stdin read from `file` (as `moat ... < file`), or piped from `file` (`cat file |`). */
function moatWithStdin(args: string[], file: string, how: 'redirect' | 'pipe', e = env()): Promise<Result> {
  return new Promise((resolve, reject) => {
    const fd = how === 'redirect' ? openSync(file, 'r') : undefined;
    const child = spawn(
      how === 'redirect' ? process.execPath : 'sh',
      how === 'redirect'
        ? [bin(), ...args]
        : ['-c', 'cat "$0" | "$@"', file, process.execPath, bin(), ...args],
      { env: e, stdio: [fd ?? 'ignore', 'pipe', 'pipe'] },
    );
    if (fd !== undefined) closeSync(fd);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, stdout, stderr });
    });
  });
}

function storage(w: World): string {
  return path.join(w.env.XDG_DATA_HOME!, 'moat', 'storage');
}

async function imageId(w: World, ref: string): Promise<string> {
  const r = await w.moat(['image', 'inspect', ref]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { id: string }[])[0].id;
}

async function imageIds(w: World): Promise<string[]> {
  const r = await w.moat(['images', '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { Id: string }[]).map((i) => i.Id);
}

interface PruneJson {
  untagged: string[];
  deleted: string[];
  freedBytes: number;
  removedBlobs: string[];
  removedRoots: string[];
}

async function prune(w: World, flags: string[] = []): Promise<PruneJson> {
  const r = await w.moat(['image', 'prune', '--min-age', '0', '--format', 'json', ...flags]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PruneJson;
}

beforeAll(() => {
  dir = path.join(inject('moatEnv').base, uniq('first-hour'));
  mkdirSync(dir, { recursive: true });
});

describe('item 6: removing an image that containers use', () => {
  it('rmi -f refuses while a container runs; after the container stops, rmi -f leaves it working and prune keeps its root until it is removed', async () => {
    const w = world('in-use');
    const name = uniq('inuse');
    expect((await w.moat(['import', userRootfsTar(name, 'hello\n'), name])).code).toBe(0);
    const id = await imageId(w, name);
    const root = path.join(storage(w), 'rootfs', id.slice(7));
    const c = uniq('c');
    const run = await w.moat(['run', '-d', '--name', c, name, 'sleep', '300']);
    expect(run.code, run.stderr).toBe(0);
    const cid = run.stdout.trim();

    for (const args of [
      ['rmi', '-f', name],
      ['rmi', '-f', id],
      ['rmi', name],
      ['image', 'rm', '-f', name],
    ]) {
      const r = await w.moat(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/\[IMAGE_IN_USE\]/);
      expect(r.stderr).toMatch(/^hint: /m);
    }
    const forced = await w.moat(['rmi', '-f', name]);
    expect(forced.stderr).toContain(`image is being used by running container ${cid.slice(0, 12)}`);
    expect(await imageIds(w)).toContain(id);
    await prune(w);
    expect(existsSync(root)).toBe(true);

    const stop = await w.moat(['stop', '-t', '1', c]);
    expect(stop.code, stop.stderr).toBe(0);
    // Only a stopped container uses it now: without -f still refused, with -f removed.
    const soft = await w.moat(['rmi', name]);
    expect(soft.code).toBe(1);
    expect(soft.stderr).toMatch(/\[IMAGE_IN_USE\]/);
    const rmi = await w.moat(['rmi', '-f', name]);
    expect(rmi.code, rmi.stderr).toBe(0);
    expect(rmi.stdout).toContain(`Deleted: ${id}`);
    expect(await imageIds(w)).not.toContain(id);

    // The container keeps working: prune keeps its root, start/exec/stop need no image record.
    const p1 = await prune(w);
    expect(p1.removedRoots).not.toContain(id);
    expect(existsSync(root)).toBe(true);
    const start = await w.moat(['start', c]);
    expect(start.code, start.stderr).toBe(0);
    const cat = await w.moat(['exec', c, 'cat', '/data/hello']);
    expect(cat.stdout, cat.stderr).toBe('hello\n');
    const stop2 = await w.moat(['stop', '-t', '1', c]);
    expect(stop2.code, stop2.stderr).toBe(0);
    expect(stop2.stderr).not.toMatch(/IMAGE_NOT_FOUND/);

    // Once the container is gone, prune frees the root and the blobs.
    expect((await w.moat(['rm', c])).code).toBe(0);
    const p2 = await prune(w);
    expect(p2.removedRoots).toContain(id);
    expect(p2.removedBlobs).toContain(id);
    expect(existsSync(root)).toBe(false);
    expect(readdirSync(path.join(storage(w), 'blobs', 'sha256'))).toEqual([]);
  });
});

describe('item 9: a rootfs tar made by an ordinary user', () => {
  let reg: Registry | undefined;
  afterAll(async () => reg?.stop());

  it('imports and runs a tar whose ./ is the user’s; the root keeps the owner and mode the tar gives it', async () => {
    const name = uniq('usertar');
    const file = userRootfsTar(name, 'made by a user\n', 0o751);
    const imp = await moat(['import', file, name]);
    expect(imp.code, imp.stderr).toBe(0);
    const r = await moat(['run', '--rm', name, 'cat', '/data/hello']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('made by a user\n');
    const id = imp.stdout.trim();
    const root = path.join(inject('moatEnv').XDG_DATA_HOME, 'moat', 'storage', 'rootfs', id.slice(7));
    const st = statSync(root);
    expect(st.mode & 0o777).toBe(0o751);
    // The tar says `./` belongs to this user's uid: inside the namespace, so a subordinate ID here.
    expect(st.uid).not.toBe(process.getuid!());
    const again = await moat(['run', '--rm', name, 'cat', '/data/hello']);
    expect(again.stdout).toBe('made by a user\n');
  });

  it('the same image pushed and pulled unpacks and runs', async () => {
    needTools('docker-registry');
    reg = await startRegistry();
    const name = uniq('usertar-push');
    expect((await moat(['import', userRootfsTar(name, 'pushed\n'), name])).code).toBe(0);
    const ref = `${reg.host}/first-hour/${name}:1`;
    const push = await moat(['push', name, ref]);
    expect(push.code, push.stderr).toBe(0);
    const fresh = world('user-pull');
    const pull = await fresh.moat(['pull', ref]);
    expect(pull.code, pull.stderr).toBe(0);
    const r = await fresh.moat(['run', '--rm', ref, 'cat', '/data/hello']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('pushed\n');
  });
});

describe('item 10: import and load of missing files and from stdin', () => {
  it('a missing file is IMAGE_ARCHIVE_NOT_FOUND with a hint, exit 1, for import and load', async () => {
    for (const args of [
      ['import', '/nonexistent.tar', 'x'],
      ['load', '-i', '/nonexistent.tar'],
      ['image', 'import', path.join(dir, 'no-such-dir', 'x.tar'), 'x'],
    ]) {
      const r = await moat(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^moat: .*nonexistent\.tar|no-such-dir/m);
      expect(r.stderr).toMatch(/\[IMAGE_ARCHIVE_NOT_FOUND\]/);
      expect(r.stderr).toMatch(/^hint: /m);
      expect(r.stderr).not.toMatch(/internal error|ENOENT/);
    }
  });

  it.each(['redirect', 'pipe'] as const)('import - reads the tar from stdin (%s)', async (how) => {
    const name = uniq(`stdin-${how}`);
    const file = userRootfsTar(name, `from stdin ${how}\n`);
    const imp = await moatWithStdin(['import', '-', name], file, how);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    const r = await moat(['run', '--rm', name, 'cat', '/data/hello']);
    expect(r.stdout, r.stderr).toBe(`from stdin ${how}\n`);
  });

  it('load reports only the names in the archive, and reads stdin when -i is not given', async () => {
    const ref = `example.com/first-hour/${uniq('loaded')}:1`;
    const base: LayerEntry[] = [
      { path: 'data/', type: 'directory' },
      { path: 'data/x', content: 'x\n' },
    ];
    const { tar } = await buildOciLayoutTar({ layers: [base], refName: ref });
    const file = path.join(dir, 'stdin-oci.tar');
    writeFileSync(file, tar);
    const first = await moat(['load', '-i', file]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`Loaded image: ${ref}\n`);
    // Another name for the same image is not something this archive holds.
    const other = `localhost/${uniq('other')}:2`;
    expect((await moat(['tag', ref, other])).code).toBe(0);
    const again = await moat(['load', '-i', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`Loaded image: ${ref}\n`);
    for (const how of ['redirect', 'pipe'] as const) {
      const r = await moatWithStdin(['load'], file, how);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`Loaded image: ${ref}\n`);
    }
    const empty = await moatWithStdin(['load'], '/dev/null', 'redirect');
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toMatch(/\[IMAGE_INVALID_ARCHIVE\]/);
  });
});

describe('item 10: a terminal on stdin', () => {
  it('load without -i and import - refuse a terminal at once (CLI_USAGE, exit 2)', async () => {
    needTools('script');
    for (const args of [['load'], ['import', '-', uniq('tty')]]) {
      // script(1) gives the command a pseudo-terminal as stdin.
      const cmd = [process.execPath, bin(), ...args].map((a) => `'${a}'`).join(' ');
      const r = await new Promise<Result>((resolve) => {
        const child = spawn('script', ['-qec', cmd, '/dev/null'], {
          env: env(),
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? 128, stdout: out, stderr: '' });
        });
      });
      expect(r.code, r.stdout).toBe(2);
      expect(r.stdout).toMatch(/stdin, which is a terminal \[CLI_USAGE\]/);
    }
  });
});

describe('item 11: image prune', () => {
  it('removes dangling images no container uses; -a every unused image; reports what and how much', async () => {
    const w = world('prune');
    const name = uniq('pr');
    const used = uniq('pr-used');
    const imp = async (tag: string, hello: string) => {
      const r = await w.moat(['import', userRootfsTar(uniq('pr-tar'), hello), tag]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const dangling = await imp(name, 'one\n');
    const current = await imp(name, 'two\n'); // takes the name: the first becomes <none>
    const danglingUsed = await imp(used, 'three\n');
    const c = uniq('pr-c');
    expect((await w.moat(['create', '--name', c, used, 'true'])).code).toBe(0);
    const usedNow = await imp(used, 'four\n'); // the container's image becomes <none>
    const table = (await w.moat(['images'])).stdout;
    expect(table.match(/<none>/g)?.length).toBe(4); // two dangling images, REPOSITORY and TAG each

    const p = await prune(w);
    expect(p.deleted).toEqual([dangling]);
    expect(p.freedBytes).toBeGreaterThan(0);
    expect(p.removedBlobs).toContain(dangling);
    const left = await imageIds(w);
    expect(left).not.toContain(dangling);
    expect(left).toEqual(expect.arrayContaining([current, danglingUsed, usedNow]));
    const text = await w.moat(['image', 'prune', '--min-age', '0']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/Total reclaimed space: 0B/);

    const all = await prune(w, ['-a']);
    expect(all.deleted.sort()).toEqual([current, usedNow].sort());
    expect(all.untagged.sort()).toEqual([`localhost/${name}:latest`, `localhost/${used}:latest`].sort());
    expect(await imageIds(w)).toEqual([danglingUsed]);
    const shown = await w.moat(['image', 'prune', '-a', '-f', '--min-age', '0']);
    expect(shown.code, shown.stderr).toBe(0);
    expect((await w.moat(['run', '--rm', danglingUsed, 'cat', '/data/hello'])).stdout).toBe('three\n');
  });
});
