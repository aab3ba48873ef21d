/**
 * Host paths pinned to what the policy saw (host-paths.ts): a source reached through a symlink,
 * swapped, replaced or gone is refused with RUNTIME_HOST_PATH_CHANGED; the spec runc gets mounts
 * staging points; the launcher refuses a staged mount that is not the pinned device and inode.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MoatError } from '../../../src/errors.js';
import {
  checkPins,
  identify,
  pinMounts,
  readHostFile,
  stageFailure,
  stagedSpec,
} from '../../../src/runtime/host-paths.js';
import type { OciSpec } from '../../../src/runtime/oci.js';
import { launcherArgv, LAUNCHER } from '../../../src/runtime/runc.js';
import { startError } from '../../../src/runtime/start-errors.js';

const base = mkdtempSync(path.join(os.tmpdir(), 'host-paths-'));
let n = 0;
const fresh = () => {
  const d = path.join(base, `d${n++}`);
  mkdirSync(d);
  return d;
};
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as MoatError).code;
  }
  return undefined;
};

describe('pinning bind-mount sources', () => {
  it('pins a directory or a file at its canonical path; a missing one does not exist', () => {
    const d = fresh();
    writeFileSync(path.join(d, 'f'), 'x');
    const [dir, file] = pinMounts([
      { source: d, destination: '/a' },
      { source: path.join(d, 'f'), destination: '/b' },
    ]);
    expect(dir).toEqual(expect.objectContaining({ source: d, destination: '/a', kind: 'directory' }));
    expect(dir.ino).toBe(String(statSync(d).ino));
    expect(file.kind).toBe('file');
    expect(codeOf(() => pinMounts([{ source: path.join(d, 'none'), destination: '/x' }]))).toBe(
      'RUNTIME_INVALID_OPTION',
    );
  });

  it('refuses a source reached through a symlink (the last component or one above it)', () => {
    const d = fresh();
    const target = fresh();
    mkdirSync(path.join(target, 'sub'));
    symlinkSync(target, path.join(d, 'link'));
    expect(identify(path.join(d, 'link'))).toEqual({ ok: false, why: 'swapped' });
    expect(identify(path.join(d, 'link', 'sub'))).toEqual({ ok: false, why: 'swapped' });
    expect(codeOf(() => pinMounts([{ source: path.join(d, 'link', 'sub'), destination: '/x' }]))).toBe(
      'RUNTIME_HOST_PATH_CHANGED',
    );
  });

  it('at a start: the same directory passes; swapped for a symlink, replaced, or gone is refused', () => {
    const d = fresh();
    const src = path.join(d, 'src');
    mkdirSync(src);
    const pins = pinMounts([{ source: src, destination: '/mnt' }]);
    expect(() => checkPins(pins)).not.toThrow();
    // Swapped for a symlink to another directory.
    const other = fresh();
    renameSync(src, path.join(d, 'away'));
    symlinkSync(other, src);
    expect(codeOf(() => checkPins(pins))).toBe('RUNTIME_HOST_PATH_CHANGED');
    // Replaced by another real directory at the same path.
    rmSync(src);
    mkdirSync(src);
    expect(codeOf(() => checkPins(pins))).toBe('RUNTIME_HOST_PATH_CHANGED');
    // Gone.
    rmSync(src, { recursive: true });
    expect(codeOf(() => checkPins(pins))).toBe('RUNTIME_HOST_PATH_CHANGED');
    // Put back: the very same directory passes again.
    renameSync(path.join(d, 'away'), src);
    expect(() => checkPins(pins)).not.toThrow();
  });
});

describe('reading a file a request names', () => {
  it('gives the bytes and the canonical path of the file read; exact refuses a symlink on the way', () => {
    const d = fresh();
    const f = path.join(d, 'p.json');
    writeFileSync(f, '{}');
    symlinkSync(d, path.join(d, 'up'));
    const viaLink = path.join(d, 'up', 'p.json');
    expect(readHostFile(viaLink, false)).toEqual({ bytes: Buffer.from('{}'), path: f });
    expect(readHostFile(f, true).path).toBe(f);
    expect(codeOf(() => readHostFile(viaLink, true))).toBe('RUNTIME_HOST_PATH_CHANGED');
    expect(() => readHostFile(d, false)).toThrow(/not a regular file|EISDIR/);
  });
});

const SPEC = {
  ociVersion: '1.0.2',
  process: { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 } },
  root: { path: '/r' },
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/data', type: 'bind', source: '/home/u/data', options: ['rbind', 'ro'] },
  ],
} as unknown as OciSpec;

describe('the spec runc gets', () => {
  it('mounts each pinned source from its staging point; a pin the spec lacks is a corrupt state', () => {
    const pin = {
      source: '/home/u/data',
      destination: '/data',
      dev: '1',
      ino: '2',
      kind: 'directory' as const,
    };
    const out = stagedSpec(SPEC, [pin], '/c/mounts');
    expect(out.spec.mounts?.[1]).toEqual({ ...SPEC.mounts![1], source: '/c/mounts/0' });
    expect(SPEC.mounts?.[1].source).toBe('/home/u/data'); // the stored spec is untouched
    expect(out.staged).toEqual([{ source: '/home/u/data', stage: '/c/mounts/0', id: '1:2' }]);
    expect(codeOf(() => stagedSpec(SPEC, [{ ...pin, destination: '/other' }], '/c/mounts'))).toBe(
      'RUNTIME_CORRUPT_STATE',
    );
  });

  it("the launcher's report of a changed staged mount reads as RUNTIME_HOST_PATH_CHANGED", () => {
    const msg = stageFailure('moat: staged mount 0 changed', [
      { source: '/home/u/data', stage: '/s/0', id: '1:2' },
    ]);
    expect(msg).toMatch(/^mount source \/home\/u\/data changed since the container was created/);
    expect(startError(msg!, { kind: 'run', name: 'c' }).code).toBe('RUNTIME_HOST_PATH_CHANGED');
    expect(stageFailure('something else', [])).toBeUndefined();
  });
});

/** Run the launcher with `mount` faked (it mounts nothing) and a fake runc that records its argv. */
function launch(staged: { source: string; stage: string; id: string }[]) {
  const d = fresh();
  const bin = path.join(d, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'mount'), '#!/bin/sh\necho "$@" >> "$MOUNTS"\n');
  const runc = path.join(bin, 'runc');
  writeFileSync(runc, '#!/bin/sh\necho "$@" > "$RAN"\n');
  for (const f of ['mount', 'runc']) chmodSync(path.join(bin, f), 0o755);
  const log = path.join(d, 'runc.log');
  const argv = launcherArgv({
    lower: '',
    upper: '',
    work: '',
    rootfs: '',
    runc: { runc, root: path.join(d, 'root') },
    bundle: path.join(d, 'bundle'),
    id: 'c1',
    pidFile: path.join(d, 'pid'),
    logFile: log,
    statusFile: path.join(d, 'status'),
    staged,
  });
  expect(argv.slice(0, 3)).toEqual(['sh', '-c', LAUNCHER]);
  const env = {
    PATH: `${bin}:${process.env.PATH}`,
    MOUNTS: path.join(d, 'mounts'),
    RAN: path.join(d, 'ran'),
  };
  return new Promise<{ code: number | null; log: string; ran: string; mounts: string }>((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    (child.stdio[3] as NodeJS.WritableStream).end('go\n');
    child.on('close', (code) => {
      const read = (f: string) => {
        try {
          return readFileSync(path.join(d, f), 'utf8');
        } catch {
          return '';
        }
      };
      resolve({ code, log: read('runc.log'), ran: read('ran'), mounts: read('mounts') });
    });
  });
}

describe('the launcher stages the mounts before runc', () => {
  it('mounts each source on its stage, checks the device and inode, then runs runc', async () => {
    const src = fresh();
    const stage = fresh();
    const st = statSync(stage);
    const r = await launch([{ source: src, stage, id: `${st.dev}:${st.ino}` }]);
    expect(r.code).toBe(0);
    expect(r.mounts).toBe(`--rbind ${src} ${stage}\n`);
    expect(r.ran).toMatch(/ run --bundle .* c1\n$/);
    expect(r.log).toBe('');
  });

  it("what got mounted is not the pinned inode: reported in runc's log, runc never runs", async () => {
    const src = fresh();
    const ok = fresh();
    const st = statSync(ok);
    const stage = fresh();
    const r = await launch([
      { source: ok, stage: ok, id: `${st.dev}:${st.ino}` },
      { source: src, stage, id: `${st.dev}:${st.ino}` },
    ]);
    expect(r.code).toBe(125);
    expect(r.ran).toBe('');
    expect(JSON.parse(r.log)).toEqual({ level: 'error', msg: 'moat: staged mount 1 changed' });
  });
});
