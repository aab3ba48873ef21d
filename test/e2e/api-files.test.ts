/**
 * Issue 15 through `moat system service`, driven by the real docker CLI: docker cp both ways (and
 * `-`), docker diff, docker commit (a new image that runs, --change, -m), docker history and docker
 * export, decided by the same routes and policy as the moat CLI.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { docker, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;
let dir: string;
const names: string[] = [];
const images: string[] = [];

beforeAll(async () => {
  w = mainWorld('api-files');
  svc = await startService(w, {}, 'files.sock');
  dir = mkdtempSync(path.join(inject('moatEnv').base, 'api-files-'));
});
afterAll(async () => {
  if (names.length) await w.moat(['rm', '-f', ...names]);
  if (images.length) await w.moat(['rmi', '-f', ...images]);
  if (svc) await stopService(svc);
});

function dockerBin(args: string[], input?: Buffer): { code: number; stdout: Buffer; stderr: string } {
  const r = spawnSync('docker', args, {
    env: { ...w.env, DOCKER_HOST: `unix://${svc.socket}` },
    timeout: 60_000,
    maxBuffer: 64 << 20,
    ...(input ? { input } : {}),
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe('docker cp, diff, commit, history, export against moat', () => {
  it('docker cp into and out of a running container, files and directories, and `-`', async () => {
    const name = uniq('dcp');
    names.push(name);
    const r = docker(svc, w, [
      'run',
      '-d',
      '--name',
      name,
      IMAGE,
      'sh',
      '-c',
      'mkdir -p /tmp/d; echo inside > /tmp/d/f; exec sleep 600',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const src = path.join(dir, 'src');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'sub', 'x'), 'deep\n');
    writeFileSync(path.join(dir, 'one.txt'), 'one\n');
    // a running container's root is read-only: /tmp is where it writes
    let c = docker(svc, w, ['cp', path.join(dir, 'one.txt'), `${name}:/tmp/one.txt`]);
    expect(c.code, c.stderr).toBe(0);
    c = docker(svc, w, ['cp', src, `${name}:/tmp/tree`]);
    expect(c.code, c.stderr).toBe(0);
    const ls = docker(svc, w, [
      'exec',
      name,
      'sh',
      '-c',
      'cat /tmp/one.txt /tmp/tree/sub/x; stat -c %u /tmp/one.txt',
    ]);
    expect(ls.stdout).toBe('one\ndeep\n0\n');
    // and out
    const out = path.join(dir, 'out');
    c = docker(svc, w, ['cp', `${name}:/tmp/d`, out]);
    expect(c.code, c.stderr).toBe(0);
    expect(readFileSync(path.join(out, 'f'), 'utf8')).toBe('inside\n');
    expect(statSync(path.join(out, 'f')).uid).toBe(process.getuid!());
    const t = dockerBin(['cp', `${name}:/tmp/d/f`, '-']);
    expect(t.code, t.stderr).toBe(0);
    const list = spawnSync('tar', ['-tf', '-'], { input: t.stdout }).stdout.toString();
    expect(list).toBe('f\n');
    // - : a tar from stdin into a directory
    const tarball = spawnSync('tar', ['-cf', '-', '-C', dir, 'one.txt']).stdout;
    const fromStdin = dockerBin(['cp', '-', `${name}:/tmp/d`], tarball);
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(docker(svc, w, ['exec', name, 'cat', '/tmp/d/one.txt']).stdout).toBe('one\n');
    // the root is read-only, as the container sees it
    c = docker(svc, w, ['cp', path.join(dir, 'one.txt'), `${name}:/etc/`]);
    expect(c.code).not.toBe(0);
    expect(c.stderr).toContain('read-only');
    // a missing path
    c = docker(svc, w, ['cp', `${name}:/no/such`, out]);
    expect(c.code).not.toBe(0);
    expect(c.stderr).toMatch(/no such file or directory/i);
  });

  it('docker diff, docker commit (--change, -m), docker history, and the image runs', async () => {
    const name = uniq('dcommit');
    names.push(name);
    const r = docker(svc, w, ['run', '--name', name, IMAGE, 'sh', '-c', 'true']);
    expect(r.code, r.stderr).toBe(0);
    // a stopped container takes files through its overlay (its root is not read-only then)
    writeFileSync(path.join(dir, 'added.txt'), 'added\n');
    let c = docker(svc, w, ['cp', path.join(dir, 'added.txt'), `${name}:/etc/added.txt`]);
    expect(c.code, c.stderr).toBe(0);
    const diff = docker(svc, w, ['diff', name]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain('C /etc\n');
    expect(diff.stdout).toContain('A /etc/added.txt\n');
    const ref = `localhost/${uniq('dcommitted')}:1`;
    images.push(ref);
    c = docker(svc, w, [
      'commit',
      '-m',
      'via docker',
      '--change',
      'CMD ["cat", "/etc/added.txt"]',
      name,
      ref,
    ]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    const run = docker(svc, w, ['run', '--rm', ref]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('added\n');
    const h = docker(svc, w, ['history', ref]);
    expect(h.code, h.stderr).toBe(0);
    const rows = h.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^IMAGE +CREATED +CREATED BY +SIZE +COMMENT/);
    expect(rows[1]).toMatch(new RegExp(`^${c.stdout.trim().slice(7, 19)} .*via docker`));
    expect(rows).toHaveLength(3);
    const q = docker(svc, w, ['history', '-q', '--no-trunc', ref]);
    expect(q.stdout.trim().split('\n')).toEqual([c.stdout.trim(), '<missing>']);
  });

  it('docker export writes the filesystem as a tar', async () => {
    const name = uniq('dexport');
    names.push(name);
    expect(docker(svc, w, ['create', '--name', name, IMAGE, 'true']).code).toBe(0);
    const file = path.join(dir, 'exp.tar');
    const e = docker(svc, w, ['export', '-o', file, name]);
    expect(e.code, e.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
    const list = spawnSync('tar', ['-tf', file]).stdout.toString().split('\n');
    expect(list).toContain('bin/busybox');
    expect(list).toContain('etc/passwd');
    const piped = dockerBin(['export', name]);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout.length).toBe(statSync(file).size);
    // a client that goes away after the first bytes leaves no files worker behind
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ socketPath: svc.socket, path: `/v1.41/containers/${name}/export` }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.on('close', resolve);
      setTimeout(() => reject(new Error('no data')), 30_000);
      req.end();
    });
    const workers = () =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
            const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
            return (
              ppid === svc.proc.pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('files/worker.js')
            );
          } catch {
            return false;
          }
        });
    for (let i = 0; i < 100 && workers().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(workers()).toEqual([]);
  });
});
