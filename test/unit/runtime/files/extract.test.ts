/**
 * Hostile archives on copy-in (and a container's archive on the host): nothing is written outside
 * the root through `..`, an absolute name, a symlink the archive made or one already there; what
 * is in the way is replaced, never written through. And archives made here (pack.ts) round-trip.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
  linkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { extractArchive, type ExtractOptions } from '../../../../src/runtime/files/extract.js';
import { extractToHost, packHostPath } from '../../../../src/runtime/files/host.js';
import { FdRoot } from '../../../../src/runtime/files/root.js';

const base = mkdtempSync(path.join(tmpdir(), 'moat-extract-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

type Entry = Partial<tar.Header> & { name: string; body?: string };

/** A tar of `entries`, as bytes in a stream. */
async function archive(entries: Entry[]): Promise<Readable> {
  const p = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const { body, ...h } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (e?: Error | null) => (e ? reject(e) : resolve());
      if (body !== undefined) p.entry({ type: 'file', mode: 0o644, ...h }, body, done);
      else p.entry({ type: 'directory', mode: 0o755, ...h }, done);
    });
  }
  p.finalize();
  await collected;
  return Readable.from([Buffer.concat(chunks)]);
}

/** A fresh container root, a host directory beside it holding a secret, and the root opened. */
function world() {
  const dir = path.join(base, `w${n++}`);
  const rootDir = path.join(dir, 'root');
  const outside = path.join(dir, 'outside');
  mkdirSync(path.join(rootDir, 'dst'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret'), 'HOST');
  return { dir, rootDir, outside, root: new FdRoot(rootDir) };
}

const inContainer: Omit<ExtractOptions, 'dir'> = { owner: { kind: 'caller' }, modeMask: 0o7777 };

async function code(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: unknown }).code;
  }
  return undefined;
}

describe('extractArchive into a container root', () => {
  it('refuses a `..` name and writes nothing outside', async () => {
    const w = world();
    const tarball = await archive([{ name: '../../outside/pwned', body: 'X' }]);
    expect(await code(extractArchive(w.root, tarball, { ...inContainer, dir: '/dst' }))).toBe(
      'RUNTIME_COPY_REFUSED',
    );
    expect(existsSync(path.join(w.outside, 'pwned'))).toBe(false);
    w.root.close();
  });

  it('keeps an absolute name below the destination', async () => {
    const w = world();
    await extractArchive(w.root, await archive([{ name: '/etc/abs', body: 'A' }]), {
      ...inContainer,
      dir: '/dst',
    });
    expect(readFileSync(path.join(w.rootDir, 'dst/etc/abs'), 'utf8')).toBe('A');
    w.root.close();
  });

  it('contains a symlink the archive made to a host path, then wrote through', async () => {
    const w = world();
    const tarball = await archive([
      { name: 'esc', type: 'symlink', linkname: w.outside },
      { name: 'esc/pwned', body: 'X' },
      { name: 'up', type: 'symlink', linkname: '../../../../../../..' },
      { name: 'up/at-root', body: 'Y' },
    ]);
    await extractArchive(w.root, tarball, { ...inContainer, dir: '/dst' });
    // the host directory is untouched; the write landed inside the root, where the symlink
    // resolves in a chroot
    expect(existsSync(path.join(w.outside, 'pwned'))).toBe(false);
    expect(readFileSync(path.join(w.rootDir, w.outside, 'pwned'), 'utf8')).toBe('X');
    expect(readFileSync(path.join(w.rootDir, 'at-root'), 'utf8')).toBe('Y');
    expect(existsSync(path.join(w.dir, 'at-root'))).toBe(false);
    w.root.close();
  });

  it('does not follow a symlink of the container that leads out through the destination', async () => {
    const w = world();
    symlinkSync(w.outside, path.join(w.rootDir, 'dst', 'link')); // the container's own symlink
    symlinkSync(path.join(w.outside, 'secret'), path.join(w.rootDir, 'dst', 'victim'));
    await extractArchive(
      w.root,
      await archive([
        { name: 'link/pwned', body: 'X' },
        { name: 'victim', body: 'replaced' },
      ]),
      { ...inContainer, dir: '/dst' },
    );
    expect(existsSync(path.join(w.outside, 'pwned'))).toBe(false);
    // a symlink in the way is replaced, not written through
    expect(readFileSync(path.join(w.outside, 'secret'), 'utf8')).toBe('HOST');
    expect(lstatSync(path.join(w.rootDir, 'dst', 'victim')).isFile()).toBe(true);
    w.root.close();
  });

  it('resolves the destination itself inside the root', async () => {
    const w = world();
    symlinkSync(w.outside, path.join(w.rootDir, 'hostdir'));
    expect(
      await code(
        extractArchive(w.root, await archive([{ name: 'f', body: 'X' }]), {
          ...inContainer,
          dir: '/hostdir',
        }),
      ),
    ).toBe('RUNTIME_PATH_NOT_FOUND');
    expect(existsSync(path.join(w.outside, 'f'))).toBe(false);
    w.root.close();
  });

  it('refuses hard links out of the destination, and to directories', async () => {
    const w = world();
    for (const linkname of ['../../outside/secret', '/dst', 'missing']) {
      const t = await archive([{ name: 'h', type: 'link', linkname }]);
      expect(await code(extractArchive(w.root, t, { ...inContainer, dir: '/dst' })), linkname).toBe(
        'RUNTIME_COPY_REFUSED',
      );
    }
    await extractArchive(
      w.root,
      await archive([
        { name: 'a', body: 'same' },
        { name: 'b', type: 'link', linkname: 'a' },
      ]),
      { ...inContainer, dir: '/dst' },
    );
    expect(statSync(path.join(w.rootDir, 'dst/b')).ino).toBe(statSync(path.join(w.rootDir, 'dst/a')).ino);
    w.root.close();
  });

  it('never replaces a directory with a file nor a file with a directory; skips devices', async () => {
    const w = world();
    mkdirSync(path.join(w.rootDir, 'dst', 'd'));
    writeFileSync(path.join(w.rootDir, 'dst', 'f'), 'keep');
    expect(
      await code(
        extractArchive(w.root, await archive([{ name: 'd', body: 'X' }]), { ...inContainer, dir: '/dst' }),
      ),
    ).toBe('RUNTIME_COPY_REFUSED');
    expect(
      await code(extractArchive(w.root, await archive([{ name: 'f' }]), { ...inContainer, dir: '/dst' })),
    ).toBe('RUNTIME_COPY_REFUSED');
    const r = await extractArchive(
      w.root,
      await archive([{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }]),
      { ...inContainer, dir: '/dst' },
    );
    expect(r.skipped).toEqual(['null']);
    expect(readFileSync(path.join(w.rootDir, 'dst', 'f'), 'utf8')).toBe('keep');
    w.root.close();
  });

  it('keeps modes (0000 stays 0000) and applies directory modes last', async () => {
    const w = world();
    await extractArchive(
      w.root,
      await archive([
        { name: 'ro', mode: 0o555 },
        { name: 'ro/inside', body: 'in', mode: 0o100000 }, // tar-stream writes 0 only this way
      ]),
      { ...inContainer, dir: '/dst' },
    );
    expect(statSync(path.join(w.rootDir, 'dst/ro')).mode & 0o7777).toBe(0o555);
    expect(statSync(path.join(w.rootDir, 'dst/ro/inside')).mode & 0o7777).toBe(0);
    chmodSync(path.join(w.rootDir, 'dst/ro'), 0o755);
    w.root.close();
  });
});

describe('the host side', () => {
  it('refuses entries under a symlink and drops set-ID bits', async () => {
    const w = world();
    const dest = path.join(w.dir, 'dest');
    mkdirSync(dest);
    const t = await archive([
      { name: 'x', type: 'symlink', linkname: w.outside },
      { name: 'x/pwned', body: 'X' },
    ]);
    expect(await code(extractToHost(t, { dir: dest }))).toBe('RUNTIME_COPY_REFUSED');
    expect(existsSync(path.join(w.outside, 'pwned'))).toBe(false);
    expect(readlinkSync(path.join(dest, 'x'))).toBe(w.outside);
    await extractToHost(await archive([{ name: 'suid', body: '#!', mode: 0o4755 }]), { dir: dest });
    expect(statSync(path.join(dest, 'suid')).mode & 0o7777).toBe(0o755);
    w.root.close();
  });

  it('round-trips a tree: files, modes, symlinks (not followed), hard links, renamed top', async () => {
    const w = world();
    const src = path.join(w.dir, 'src');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'sub', 'f'), 'data');
    writeFileSync(path.join(src, 'shadow'), 'secret');
    // 0000 as root; an ordinary user cannot read such a file (and cp cannot copy it either)
    const shadowMode = process.getuid?.() === 0 ? 0o000 : 0o400;
    chmodSync(path.join(src, 'shadow'), shadowMode);
    symlinkSync(path.join(w.outside, 'secret'), path.join(src, 'link'));
    linkSync(path.join(src, 'sub', 'f'), path.join(src, 'hard'));
    const packed = packHostPath(src, { followLink: false, top: 'copy' });
    const dest = path.join(w.dir, 'out');
    mkdirSync(dest);
    await extractToHost(packed.stream, { dir: dest });
    await packed.done;
    expect(readFileSync(path.join(dest, 'copy/sub/f'), 'utf8')).toBe('data');
    expect(statSync(path.join(dest, 'copy/shadow')).mode & 0o777).toBe(shadowMode);
    expect(readlinkSync(path.join(dest, 'copy/link'))).toBe(path.join(w.outside, 'secret'));
    expect(statSync(path.join(dest, 'copy/hard')).ino).toBe(statSync(path.join(dest, 'copy/sub/f')).ino);
    w.root.close();
  });
});
