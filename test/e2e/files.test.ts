/**
 * Issue 15, files and images, from the moat CLI as a non-root user with real runc containers:
 * cp both ways (running and stopped containers, `-` tar streams, owners mapped, symlinks of the
 * container never followed out of it, hostile archives refused or contained), diff (whiteouts and
 * opaque directories), commit (a new layer that runs, --change, history), history and export.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { env, IMAGE, moat, uniq } from './moat.js';

const names: string[] = [];
const images: string[] = [];
let dir: string;
let secret: string;

/** A container running `sleep` (root filesystem writable unless `readOnly`), after `setup`. */
async function running(setup: string, o: { readOnly?: boolean } = {}): Promise<string> {
  const name = uniq('files');
  names.push(name);
  // CHOWN: containers have no capability by default, and the setups give files owners
  const r = await moat([
    'run',
    '-d',
    ...(o.readOnly ? [] : ['--read-write']),
    '--cap-add',
    'CHOWN',
    '--name',
    name,
    IMAGE,
    'sh',
    '-c',
    `${setup}; exec sleep 600`,
  ]);
  expect(r.code, r.stderr).toBe(0);
  // the setup has run once the container shows its marker
  for (let i = 0; i < 100; i++) {
    const ok = await moat(['exec', name, 'test', '-e', '/tmp/.ready']);
    if (ok.code === 0) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  return name;
}

/** A container that ran `script` to its end (stopped). */
async function ran(script: string): Promise<string> {
  const name = uniq('files');
  names.push(name);
  const r = await moat([
    'run',
    '--read-write',
    '--cap-add',
    'CHOWN',
    '--name',
    name,
    IMAGE,
    'sh',
    '-c',
    script,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return name;
}

function tarOf(entries: (Partial<tar.Header> & { name: string; body?: string })[]): Promise<Buffer> {
  const p = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  })();
  return (async () => {
    for (const { body, ...h } of entries) {
      await new Promise<void>((resolve, reject) => {
        const cb = (e?: Error | null) => (e ? reject(e) : resolve());
        if (body !== undefined) p.entry({ type: 'file', mode: 0o644, ...h }, body, cb);
        else p.entry({ type: 'directory', mode: 0o755, ...h }, cb);
      });
    }
    p.finalize();
    await done;
    return Buffer.concat(chunks);
  })();
}

/** `moat cp` with a binary stdin. */
function cpIn(args: string[], input: Buffer) {
  const r = spawnSync(process.execPath, [path.join(inject('moatEnv').root, 'bin/moat.js'), 'cp', ...args], {
    env: env(),
    input,
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr.toString() };
}

function tarList(buf: Buffer): string[] {
  const r = spawnSync('tar', ['-tvf', '-', '--numeric-owner'], { input: buf });
  return r.stdout.toString().trim().split('\n');
}

beforeAll(() => {
  dir = mkdtempSync(path.join(inject('moatEnv').base, 'files-'));
  secret = path.join(dir, 'host-secret');
  writeFileSync(secret, 'HOST-SECRET\n');
});
afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
  if (images.length) await moat(['rmi', '-f', ...images]);
});

describe('moat cp', () => {
  it('copies a file and a directory out of a running container, owned by the caller', async () => {
    const c = await running(
      'mkdir -p /srv/d/sub; echo one > /srv/d/a; echo two > /srv/d/sub/b; chown -R 1000:1000 /srv/d; touch /tmp/.ready',
    );
    const out = path.join(dir, 'out1');
    mkdirSync(out);
    expect((await moat(['cp', `${c}:/srv/d/a`, out])).code).toBe(0);
    expect(readFileSync(path.join(out, 'a'), 'utf8')).toBe('one\n');
    expect((await moat(['cp', `${c}:/srv/d`, path.join(out, 'copy')])).code).toBe(0);
    expect(readFileSync(path.join(out, 'copy/sub/b'), 'utf8')).toBe('two\n');
    // files copied out are the caller's, whoever owned them in the container
    expect(statSync(path.join(out, 'copy/sub/b')).uid).toBe(process.getuid!());
    // DIR/. copies the contents into an existing directory
    expect((await moat(['cp', `${c}:/srv/d/.`, out])).code).toBe(0);
    expect(readFileSync(path.join(out, 'sub/b'), 'utf8')).toBe('two\n');
  });

  it('writes a tar to stdout with `-`, with the container owners', async () => {
    const c = await running('mkdir /srv; echo x > /srv/f; chown 1000:1001 /srv/f; touch /tmp/.ready');
    const r = spawnSync(
      process.execPath,
      [path.join(inject('moatEnv').root, 'bin/moat.js'), 'cp', `${c}:/srv/f`, '-'],
      {
        env: env(),
        maxBuffer: 64 << 20,
      },
    );
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(tarList(r.stdout)[0]).toMatch(/^-rw-r--r-- 1000\/1001 +2 .* f$/);
  });

  it('copies into running and stopped containers, owned by the directory the files land in', async () => {
    const src = path.join(dir, 'in');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'sub', 'x'), 'deep\n');
    writeFileSync(path.join(dir, 'in.txt'), 'hello\n');
    const c = await running('mkdir -p /home/app; chown 1000:1000 /home/app; touch /tmp/.ready');
    expect((await moat(['cp', path.join(dir, 'in.txt'), `${c}:/root/`])).code).toBe(0);
    expect((await moat(['cp', src, `${c}:/home/app/tree`])).code).toBe(0);
    const ls = await moat([
      'exec',
      c,
      'sh',
      '-c',
      'stat -c "%u:%g %n" /root/in.txt /home/app/tree /home/app/tree/sub/x; cat /home/app/tree/sub/x',
    ]);
    expect(ls.stdout).toBe(
      '0:0 /root/in.txt\n1000:1000 /home/app/tree\n1000:1000 /home/app/tree/sub/x\ndeep\n',
    );
    // -a keeps the source's owner (the caller, container IDs as they are)
    expect((await moat(['cp', '-a', path.join(dir, 'in.txt'), `${c}:/root/kept.txt`])).code).toBe(0);
    expect((await moat(['exec', c, 'stat', '-c', '%u', '/root/kept.txt'])).stdout.trim()).toBe(
      String(process.getuid!()),
    );
    // stopped: through its overlay
    await moat(['stop', '-t', '0', c]);
    expect((await moat(['cp', path.join(dir, 'in.txt'), `${c}:/home/app/later.txt`])).code).toBe(0);
    const out = path.join(dir, 'out3');
    mkdirSync(out);
    expect((await moat(['cp', `${c}:/home/app`, out])).code).toBe(0);
    expect(readFileSync(path.join(out, 'app/later.txt'), 'utf8')).toBe('hello\n');
    expect(readFileSync(path.join(out, 'app/tree/sub/x'), 'utf8')).toBe('deep\n');
  });

  it("refuses a running container's read-only root, and copies into its /tmp", async () => {
    const c = await running('touch /tmp/.ready', { readOnly: true });
    const r = await moat(['cp', path.join(dir, 'in.txt'), `${c}:/etc/`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('RUNTIME_COPY_REFUSED');
    expect((await moat(['cp', path.join(dir, 'in.txt'), `${c}:/tmp/`])).code).toBe(0);
    expect((await moat(['exec', c, 'cat', '/tmp/in.txt'])).stdout).toBe('hello\n');
  });

  it('refuses a copy into a stopped container that its mounts would hide (/tmp of a read-only root, a volume over an image directory)', async () => {
    const vol = mkdtempSync(path.join(dir, 'vol-'));
    const n = uniq('cp-hidden');
    names.push(n);
    const r0 = await moat(['create', '--name', n, '-v', `${vol}:/root`, IMAGE, 'cat', '/etc/in.txt']);
    expect(r0.code, r0.stderr).toBe(0);
    for (const dest of ['/tmp/', '/root/', '/root/x.txt']) {
      const r = await moat(['cp', path.join(dir, 'in.txt'), `${n}:${dest}`]);
      expect(r.code, dest).toBe(1);
      expect(r.stderr).toMatch(
        /is under \/(tmp|root), a mount of .* that exists only while it runs.*\[RUNTIME_COPY_REFUSED\]/,
      );
    }
    // a path of its root is kept in its layer, and the run sees it
    expect((await moat(['cp', path.join(dir, 'in.txt'), `${n}:/etc/`])).code).toBe(0);
    const run = await moat(['start', '-a', n]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('hello\n');
  });

  it('says when a path is not in the container', async () => {
    const c = await running('touch /tmp/.ready');
    const r = await moat(['cp', `${c}:/no/such`, dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('RUNTIME_PATH_NOT_FOUND');
  });
});

describe('moat cp never leaves the container through its symlinks', () => {
  const hostile = () =>
    `ln -s ${dir} /escape; ln -s ../../../../../../..${dir} /up; ln -s ${secret} /filelink; mkdir /dst; touch /tmp/.ready`;

  for (const state of ['running', 'stopped'] as const) {
    it(`reads nothing of the host (${state})`, async () => {
      const c = await running(hostile());
      if (state === 'stopped') await moat(['stop', '-t', '0', c]);
      for (const p of ['/escape/host-secret', '/up/host-secret']) {
        const r = await moat(['cp', `${c}:${p}`, '-']);
        expect(r.stdout, p).not.toContain('HOST-SECRET');
        expect(r.code, p).toBe(1);
      }
      expect((await moat(['cp', '-L', `${c}:/filelink`, '-'])).stdout).not.toContain('HOST-SECRET');
      // without -L, the symlink itself
      const out = path.join(dir, `links-${state}`);
      mkdirSync(out);
      expect((await moat(['cp', `${c}:/filelink`, out])).code).toBe(0);
      expect(lstatSync(path.join(out, 'filelink')).isSymbolicLink()).toBe(true);
    });

    it(`writes nothing on the host (${state})`, async () => {
      const c = await running(hostile());
      if (state === 'stopped') await moat(['stop', '-t', '0', c]);
      await moat(['cp', path.join(dir, 'in.txt'), `${c}:/escape/pwned-${state}`]);
      await moat(['cp', path.join(dir, 'in.txt'), `${c}:/up/pwned-${state}`]);
      // an archive that makes a symlink to a host path, then writes through it
      const t = await tarOf([
        { name: 'link', type: 'symlink', linkname: dir },
        { name: `link/pwned-tar-${state}`, body: 'X' },
      ]);
      const r = cpIn(['-', `${c}:/dst`], t);
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(path.join(dir, `pwned-${state}`))).toBe(false);
      expect(existsSync(path.join(dir, `pwned-tar-${state}`))).toBe(false);
      expect(readFileSync(secret, 'utf8')).toBe('HOST-SECRET\n');
    });
  }

  it('refuses an archive entry with `..`', async () => {
    const c = await running('mkdir /dst; touch /tmp/.ready');
    const r = cpIn(['-', `${c}:/dst`], await tarOf([{ name: '../../../../etc/evil', body: 'X' }]));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('RUNTIME_COPY_REFUSED');
    expect((await moat(['exec', c, 'test', '-e', '/etc/evil'])).code).toBe(1);
  });

  it("does not write through the caller's symlinks below the destination when copying out", async () => {
    const c = await running('mkdir -p /srv/d/link; echo x > /srv/d/link/pwned; touch /tmp/.ready');
    const out = path.join(dir, 'out-links');
    mkdirSync(path.join(out), { recursive: true });
    mkdirSync(path.join(out, 'd'));
    symlinkSync(dir, path.join(out, 'd', 'link'));
    const r = await moat(['cp', `${c}:/srv/d`, out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('RUNTIME_COPY_REFUSED');
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
  });
});

describe('moat diff, commit, history, export', () => {
  it('diff: added, changed, deleted (a whiteout, an opaque directory)', async () => {
    const c = await ran(
      'echo x > /etc/new; echo y >> /etc/passwd; rm /etc/group; rm -rf /usr/local/bin; mkdir /usr/local/bin; echo f > /usr/local/bin/fresh',
    );
    const r = await moat(['diff', c]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    for (const l of [
      'C /etc',
      'A /etc/new',
      'C /etc/passwd',
      'D /etc/group',
      'C /usr/local/bin',
      'A /usr/local/bin/fresh',
      'D /usr/local/bin/isolation-report',
    ])
      expect(lines).toContain(l);
    // in path order, as docker lists them
    const paths = lines.map((l) => l.slice(2));
    expect(paths).toEqual([...paths].sort());
  });

  it('commit: a new layer over the image that runs, with --change, -m and -a, shown by history', async () => {
    const c = await ran(
      'echo made > /etc/made; chown 1000:1000 /etc/made; rm /etc/group; rm -rf /usr/local/bin; mkdir /usr/local/bin',
    );
    const ref = `localhost/${uniq('committed')}:v1`;
    images.push(ref);
    const r = await moat([
      'commit',
      '-m',
      'a message',
      '-a',
      'Jane <j@example.com>',
      '-c',
      'CMD ["cat", "/etc/made"]',
      '-c',
      'ENV GREETING=hi',
      c,
      ref,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    const run = await moat(['run', '--rm', ref]);
    expect(run.stdout).toBe('made\n');
    const check = await moat([
      'run',
      '--rm',
      ref,
      'sh',
      '-c',
      'echo $GREETING; stat -c %u:%g /etc/made; test -e /etc/group || echo gone; ls /usr/local/bin | wc -l',
    ]);
    expect(check.stdout).toBe('hi\n1000:1000\ngone\n0\n');
    const h = await moat(['history', ref]);
    expect(h.code, h.stderr).toBe(0);
    const rows = h.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$/);
    expect(rows[1]).toMatch(new RegExp(`^${r.stdout.trim().slice(7, 19)} .* a message$`));
    expect(rows[2]).toMatch(/^<missing> +.*moat import/);
    expect((await moat(['history', '-q', ref])).stdout).toBe(`${r.stdout.trim().slice(7, 19)}\n<missing>\n`);
    const full = await moat(['history', '--no-trunc', ref]);
    expect(full.stdout).toContain(r.stdout.trim());
    const json = (await moat(['history', '--format', 'json', ref])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(json[0]).toMatchObject({ Comment: 'a message', ID: r.stdout.trim().slice(7, 19) });
    const inspect = JSON.parse((await moat(['image', 'inspect', ref])).stdout) as unknown;
    expect(JSON.stringify(inspect)).toContain('Jane <j@example.com>');
  });

  it("export: the container's filesystem without its mounts, to a file or stdout", async () => {
    const c = await ran('echo exported > /root/e.txt');
    const file = path.join(dir, 'export.tar');
    expect((await moat(['export', c, '-o', file])).code).toBe(0);
    expect(statSync(file).uid).toBe(process.getuid!());
    const list = tarList(readFileSync(file));
    expect(list.some((l) => / root\/e\.txt$/.test(l))).toBe(true);
    expect(list.some((l) => / bin\/busybox$/.test(l))).toBe(true);
    // /tmp is a tmpfs at run time: what was written there is not in the export
    const r = spawnSync(process.execPath, [path.join(inject('moatEnv').root, 'bin/moat.js'), 'export', c], {
      env: env(),
      maxBuffer: 64 << 20,
    });
    expect(r.status).toBe(0);
    expect(tarList(r.stdout)).toEqual(list);
  });
});

describe('the policy decides copies with the host path', () => {
  it("denies copying into moat's own directories", async () => {
    const c = await running('touch /tmp/.ready');
    const target = path.join(inject('moatEnv').XDG_DATA_HOME, 'moat', 'planted');
    const r = await moat(['cp', `${c}:/etc/hosts`, target]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('POLICY_DENIED');
    expect(r.stderr).toContain('copying to host path');
    expect(existsSync(target)).toBe(false);
  });
});
