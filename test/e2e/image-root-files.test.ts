/**
 * An image's /etc/passwd and /etc/group are read on the host to resolve `-u NAME` (issue 11):
 * symlinks there resolve inside the image's root, never to a host file, a host fifo, /dev/zero
 * or the service's own file descriptors; the CLI gets a clean error at once and the API service
 * keeps answering.
 */
import { closeSync, constants, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildOciLayoutTar, type LayerEntry } from '../unit/image/helpers.js';
import { answering, http, startService, stopService, type Service } from './api-helpers.js';
import { moat, uniq } from './moat.js';
import { defaultRunOptions } from '../../src/runtime/options.js';
import { mainWorld } from './registry-helpers.js';

const busybox = readFileSync('/bin/busybox');
const base: LayerEntry[] = [
  { path: 'bin/', type: 'directory' },
  { path: 'bin/busybox', content: busybox, mode: 0o755 },
  ...['sh', 'id', 'true', 'cat'].map((a) => ({
    path: `bin/${a}`,
    type: 'symlink' as const,
    linkname: 'busybox',
  })),
  { path: 'etc/', type: 'directory' },
];

let dir = '';
// Host files an image points at, in the user's home (where a real secret would be).
const home = homedir();
const leak = path.join(home, uniq('moat-e2e-passwd'));
const leakGroup = path.join(home, uniq('moat-e2e-group'));
const fifo = path.join(home, uniq('moat-e2e-fifo'));
const MARKER = 'LEAKED-FROM-THE-HOST';

/** Load an image whose etc/passwd (and etc/group) are `entries`; its reference. */
async function image(name: string, entries: LayerEntry[]): Promise<string> {
  const ref = `localhost/${uniq(name)}:1`;
  const { tar } = await buildOciLayoutTar({ layers: [[...base, ...entries]], refName: ref });
  const f = path.join(dir, `${name}.tar`);
  writeFileSync(f, tar);
  const load = await moat(['load', '-i', f]);
  expect(load.code, load.stderr).toBe(0);
  return ref;
}

const link = (p: string, target: string): LayerEntry => ({ path: p, type: 'symlink', linkname: target });

beforeAll(() => {
  dir = path.join(inject('moatEnv').base, uniq('root-files'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    leak,
    `root:x:0:0:${MARKER}:/${MARKER}:/bin/sh\nsomeuser:x:4242:4242:${MARKER}:/${MARKER}:/bin/sh\n`,
  );
  writeFileSync(leakGroup, `somegroup:x:4343:root,someuser\n`);
  execFileSync('mkfifo', [fifo]);
});

afterAll(() => {
  // A reader the old code left blocked in open(2) on the fifo: a writer lets it go.
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // no reader
  }
  for (const f of [leak, leakGroup, fifo]) rmSync(f, { force: true });
});

describe('an image whose /etc/passwd points out of its root', () => {
  it('does not see the host file it names (absolute symlinks resolve inside the root)', async () => {
    const ref = await image('leak', [link('etc/passwd', leak), link('etc/group', leakGroup)]);
    const named = await moat(['run', '--rm', '-u', 'someuser', ref, 'id', '-u']);
    expect(named.stdout).not.toContain('4242');
    expect(named.code, named.stdout).toBe(2);
    expect(named.stderr).toMatch(/someuser.*not found.*\[RUNTIME_INVALID_OPTION\]/);
    const root = await moat(['run', '--rm', ref, 'sh', '-c', 'echo "$HOME"; id -G']);
    expect(root.code, root.stderr).toBe(0);
    expect(root.stdout).not.toContain(MARKER);
    expect(root.stdout).not.toContain('4343');
    await moat(['rmi', ref]);
  });

  it('reads the file the symlink names inside the image', async () => {
    const ref = await image('inroot', [
      { path: 'usr/', type: 'directory' },
      { path: 'usr/lib/', type: 'directory' },
      { path: 'usr/lib/passwd', content: 'root:x:0:0::/root:/bin/sh\napp:x:1234:1235::/home/app:/bin/sh\n' },
      link('etc/passwd', '/usr/lib/passwd'),
      { path: 'usr/lib/group', content: 'app:x:1235:\nextra:x:1300:app\n' },
      link('etc/group', '../usr/lib/group'),
    ]);
    // Read from the unpacked root (a first run unpacks it; before that, run reads the layers).
    expect((await moat(['run', '--rm', ref, 'true'])).code).toBe(0);
    const r = await moat(['run', '--rm', '-u', 'app', ref, 'id']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/uid=1234\D.*gid=1235\D.*groups=.*1300/);
    await moat(['rmi', ref]);
  });

  for (const [what, target] of [
    ['a fifo on the host', fifo],
    ['/dev/zero', '/dev/zero'],
    ['its own standard error', '/proc/self/fd/2'],
  ] as const) {
    it(`pointing at ${what}: a clean error at once`, async () => {
      const ref = await image('odd', [link('etc/passwd', target)]);
      const t0 = Date.now();
      const r = await moat(['run', '--rm', '-u', 'someuser', ref, 'true'], { timeoutMs: 20_000 });
      const ms = Date.now() - t0;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/someuser.*not found.*\[RUNTIME_INVALID_OPTION\]/);
      expect(ms).toBeLessThan(5000);
      await moat(['rmi', ref]);
    });
  }
});

describe('a container that points its own /etc/passwd out of its root (exec -u)', () => {
  it('exec resolves it inside the container and refuses a fifo at once', async () => {
    const c = uniq('rf-exec');
    const r = await moat(['run', '-d', '--read-write', '--name', c, 'moat/busybox', 'sleep', '300']);
    expect(r.code, r.stderr).toBe(0);
    try {
      const ln = await moat([
        'exec',
        c,
        'sh',
        '-c',
        `ln -sf ${leak} /etc/passwd && mkfifo /tmp/f && ln -sf /tmp/f /etc/group`,
      ]);
      expect(ln.code, ln.stderr).toBe(0);
      const t0 = Date.now();
      const e = await moat(['exec', '-u', 'someuser', c, 'id', '-u'], { timeoutMs: 20_000 });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(e.stdout).not.toContain('4242');
      expect(e.code).not.toBe(0);
      expect(e.stderr).toMatch(/the container's \/etc\/group is a fifo.*\[IMAGE_UNSAFE_FILE\]/);
    } finally {
      await moat(['rm', '-f', c]);
    }
  });
});

/** Resolves with `p`, or rejects after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms),
    ),
  ]);
}

/** The service's peak resident memory, in MiB. */
function peakMiB(s: Service): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${s.proc.pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

describe('the same images through the API service', () => {
  let s: Service;
  beforeAll(async () => {
    s = await startService(mainWorld('rootfiles'), {}, `${uniq('rf')}.sock`);
  });
  afterAll(async () => {
    if (!s) return;
    // The old code left the service blocked for good: SIGTERM cannot end it.
    const t = setTimeout(() => s.proc.kill('SIGKILL'), 5000);
    await stopService(s);
    clearTimeout(t);
  });

  it('answers each with an error in under a second, and keeps answering', async () => {
    const refs = [
      await image('api-fifo', [link('etc/passwd', fifo)]),
      await image('api-zero', [link('etc/passwd', '/dev/zero'), link('etc/group', '/dev/zero')]),
      await image('api-fd', [link('etc/passwd', '/proc/self/fd/2'), link('etc/group', '/proc/self/fd/1')]),
      await image('api-leak', [link('etc/passwd', leak)]),
    ];
    for (const ref of refs) {
      const body = JSON.stringify({ options: { ...defaultRunOptions(ref), user: 'someuser' } });
      // The first request unpacks the image; the second is timed: the reading of /etc/passwd.
      for (const timed of [false, true]) {
        const t0 = Date.now();
        const r = await within(http(s, 'POST', '/v1/containers/create', body), 10_000, ref);
        if (timed) expect(Date.now() - t0, ref).toBeLessThan(1000);
        expect(r.status, r.body).toBe(400);
        expect(JSON.parse(r.body)).toMatchObject({ code: 'RUNTIME_INVALID_OPTION' });
        expect(r.body).not.toContain(MARKER);
        await answering(s);
      }
    }
    expect(peakMiB(s)).toBeLessThan(400);
    for (const ref of refs) await moat(['rmi', ref]);
  });
});
