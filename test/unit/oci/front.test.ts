/**
 * bin/moat-runtime, the shell front: commands on existing containers go straight to the runtime
 * with their arguments untouched; the rest goes to the Node program (not run here: it needs the
 * build; test/e2e and test/root run it).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const FRONT = path.resolve(import.meta.dirname, '../../../bin/moat-runtime');
const dir = mkdtempSync(path.join(tmpdir(), 'moat-oci-front-'));
const fake = path.join(dir, 'fake-runc');
writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "nested=$MOAT_RUNTIME_NESTED" "$@" > "${dir}/args"\nexit 7\n`);
chmodSync(fake, 0o755);
// A PATH whose node records that the Node program was asked for, and with what.
const bin = path.join(dir, 'bin');
mkdirSync(bin);
symlinkSync('/usr/bin/readlink', path.join(bin, 'readlink'));
writeFileSync(path.join(bin, 'node'), `#!/bin/sh\nprintf '%s\\n' node "$@" > "${dir}/node"\nexit 126\n`);
chmodSync(path.join(bin, 'node'), 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const read = (f: string) => {
  try {
    return readFileSync(path.join(dir, f), 'utf8').trim().split('\n');
  } catch {
    return null; // not run
  }
};

function front(args: string[]) {
  rmSync(path.join(dir, 'args'), { force: true });
  rmSync(path.join(dir, 'node'), { force: true });
  const r = spawnSync('/bin/sh', [FRONT, ...args], {
    env: { PATH: bin, MOAT_RUNTIME: fake },
    encoding: 'utf8',
  });
  return { code: r.status, got: read('args'), node: read('node') };
}

describe('bin/moat-runtime', () => {
  it('hands state, kill, delete and start to the runtime as given, with its exit status', () => {
    expect(front(['--root', '/r', '--log=/l', '--log-format', 'json', 'state', 'c1'])).toEqual({
      code: 7,
      got: ['nested=1', '--root', '/r', '--log=/l', '--log-format', 'json', 'state', 'c1'],
      node: null,
    });
    expect(front(['-root=/r', '--debug', 'kill', '--all', 'c1', '9']).got).toEqual([
      'nested=1',
      '-root=/r',
      '--debug',
      'kill',
      '--all',
      'c1',
      '9',
    ]);
    expect(front(['delete', '--force', 'c1']).got).toEqual(['nested=1', 'delete', '--force', 'c1']);
    expect(front(['start', 'c1']).got).toEqual(['nested=1', 'start', 'c1']);
  });

  it('sends create, run, exec, update, features, unknown and moat’s own flags to the Node program', () => {
    for (const args of [
      ['create', '--bundle', '/b', 'c1'],
      ['--root', '/r', 'run', 'c1'],
      ['exec', 'c1', 'sh'],
      // update can lift the limits create was judged with
      ['update', '--pids-limit', '0', 'c1'],
      ['--root', '/r', 'update', '--resources', '-', 'c1'],
      ['features'],
      ['--version'],
      // (this host has no systemd: /run/systemd/system is absent)
      ['--systemd-cgroup', 'state', 'c1'],
      ['--runtime-binary', '/x', 'state', 'c1'],
      ['--rooot', '/r', 'state', 'c1'],
      // the value of --root is not the command
      ['--root', 'state', 'create', 'c1'],
    ])
      expect(front(args), args.join(' ')).toEqual({
        code: 126,
        got: null,
        node: ['node', path.join(path.dirname(FRONT), 'moat-runtime.js'), ...args],
      });
  });

  it('finds the Node program beside the real script when started through a symlink (npm’s .bin)', () => {
    const link = path.join(dir, 'link-dir', 'moat-runtime');
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(FRONT, link);
    rmSync(path.join(dir, 'node'), { force: true });
    const r = spawnSync('/bin/sh', [link, 'features'], {
      env: { PATH: bin, MOAT_RUNTIME: fake },
      encoding: 'utf8',
    });
    expect(r.status).toBe(126);
    expect(read('node')).toEqual(['node', path.join(path.dirname(FRONT), 'moat-runtime.js'), 'features']);
  });
});
