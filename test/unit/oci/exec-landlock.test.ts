/**
 * `moat-runtime exec` under the container's Landlock ruleset: the bundle from `runc state` (a
 * fake runc here), the ruleset from the hardened spec's io.moat.landlock annotation.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgv } from '../../../src/oci/argv.js';
import { landlockPrefix, prepareExec } from '../../../src/oci/exec.js';
import { LANDLOCK_ANNOTATION } from '../../../src/runtime/spec/landlock.js';

const dir = mkdtempSync(path.join(tmpdir(), 'moat-exec-landlock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = { ...process.env, MOAT_OCI_CONFIG: path.join(dir, 'no-oci.json'), MOAT_OCI_LOG: '' };
const log = { format: 'text' as const, debug: false, file: path.join(dir, 'log') };

/** A container whose runc state names `bundle`, its spec carrying `annotations`. */
function container(
  name: string,
  annotations: Record<string, string> | undefined,
  bundleName = '.moat-runtime',
) {
  const bundle = path.join(dir, name, bundleName);
  mkdirSync(bundle, { recursive: true });
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ root: { path: 'r' }, annotations }));
  const runc = path.join(dir, name, 'runc');
  writeFileSync(
    runc,
    `#!/bin/sh\n[ "$1" = state ] || exit 1\necho '${JSON.stringify({ id: name, bundle })}'\n`,
  );
  chmodSync(runc, 0o755);
  return runc;
}

const RULESET = JSON.stringify({
  enabled: true,
  abi: 3,
  mode: 'default',
  writable: ['/tmp', '/w'],
  writable_files: ['/dev', '/proc'],
  init: '/dev/init',
});
const PREFIX = [
  '/dev/init',
  '--landlock-write',
  '/tmp',
  '--landlock-write',
  '/w',
  '--landlock-write-files',
  '/dev',
  '--landlock-write-files',
  '/proc',
  '--',
];

describe('moat-runtime exec under the container’s Landlock ruleset', () => {
  it('--process FILE: the process’s args go through moat-init', async () => {
    const runc = container('c1', { [LANDLOCK_ANNOTATION]: RULESET });
    const file = path.join(dir, 'process.json');
    writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'id'], cwd: '/' }));
    const p = await prepareExec(
      parseArgv(['--runtime-binary', runc, 'exec', '--process', file, '--detach', 'c1']),
      log,
      env,
    );
    try {
      const out = p.args.find((a) => a.startsWith('--process='))!.slice('--process='.length);
      const proc = JSON.parse(readFileSync(out, 'utf8')) as { args: string[]; noNewPrivileges: boolean };
      expect(proc.args).toEqual([...PREFIX, 'sh', '-c', 'id']);
      expect(proc.noNewPrivileges).toBe(true);
    } finally {
      await p.cleanup();
    }
    expect(readFileSync(log.file, 'utf8')).toContain(
      "moat: exec hardened process.args: run under the container's Landlock ruleset by /dev/init",
    );
  });

  it('the command on the command line: moat-init before it, after the ID', async () => {
    const runc = container('c2', { [LANDLOCK_ANNOTATION]: RULESET });
    const p = await prepareExec(parseArgv(['--runtime-binary', runc, 'exec', 'c2', 'ls', '-l']), log, env);
    expect(p.args.slice(-(PREFIX.length + 3))).toEqual(['c2', ...PREFIX, 'ls', '-l']);
  });

  it('no prefix: no annotation, a spec that is not moat’s copy, none at all; moat-init where the annotation says', () => {
    const ours = {
      bundle: '/b/.moat-runtime',
      spec: { root: { path: 'r' }, annotations: { [LANDLOCK_ANNOTATION]: RULESET } },
    };
    expect(landlockPrefix(ours)).toEqual(PREFIX);
    expect(landlockPrefix({ ...ours, spec: { root: { path: 'r' } } })).toEqual([]);
    expect(landlockPrefix({ ...ours, bundle: '/b' })).toEqual([]);
    expect(landlockPrefix({ bundle: null, spec: null })).toEqual([]);
    const alt = JSON.stringify({ ...JSON.parse(RULESET), init: '/dev/moat-init' });
    expect(
      landlockPrefix({
        ...ours,
        spec: { root: { path: 'r' }, annotations: { [LANDLOCK_ANNOTATION]: alt } },
      })[0],
    ).toBe('/dev/moat-init');
  });

  it('a container that is not there (runc state fails): no prefix, the exec goes on to runc', async () => {
    const p = await prepareExec(parseArgv(['--runtime-binary', '/bin/false', 'exec', 'c5', 'ls']), log, env);
    expect(p.args.slice(-2)).toEqual(['c5', 'ls']);
  });
});
