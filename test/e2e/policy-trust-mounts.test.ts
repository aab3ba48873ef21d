/**
 * Issue 10, host paths and moat's own files: mount sources are judged canonical (`//etc`,
 * `/./proc`, `/tmp/../proc`, symlinks), moat's runtime, data and config directories and its
 * sockets are protected from bind mounts (and read-only parents of the runtime directory too),
 * through the CLI, moat's /v1 API and the docker CLI; the runtime directory is the user's own,
 * never a shared /tmp path.
 */
import { lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { moat, uniq } from './moat.js';
import type { World } from './registry-helpers.js';
import { docker, IMG, trustWorld, v1Create, withService } from './policy-trust-helpers.js';

let w: World & { id: string; digest: string };
let base = '';
let runtime = '';

beforeAll(async () => {
  w = await trustWorld('trust-mnt');
  base = w.env.HOME!;
  runtime = path.join(w.env.XDG_RUNTIME_DIR!, 'moat');
});

describe("moat's runtime directory", () => {
  it('is $XDG_RUNTIME_DIR/moat, else ~/.cache/moat/run (0700), never /tmp/moat-run-<uid>; moat info says where', async () => {
    const info = async (env: NodeJS.ProcessEnv) => {
      const r = await moat(['info', '--format', 'json'], { env });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { paths: { runtime: string; socket: string } }).paths;
    };
    expect(await info(w.env)).toEqual(
      expect.objectContaining({ runtime, socket: path.join(runtime, 'moat.sock') }),
    );
    const home = path.join(base, uniq('home'));
    mkdirSync(home, { mode: 0o700 });
    const open = path.join(home, 'open');
    mkdirSync(open, { mode: 0o755 });
    const cache = path.join(home, '.cache', 'moat', 'run');
    for (const xdg of [undefined, open, path.join(home, 'missing')]) {
      const env = { ...w.env, HOME: home, XDG_RUNTIME_DIR: xdg };
      if (xdg === undefined) delete env.XDG_RUNTIME_DIR;
      const p = await info(env);
      expect(p.runtime, String(xdg)).toBe(cache);
      expect(p.socket).toBe(path.join(cache, 'moat.sock'));
      expect(lstatSync(cache).mode & 0o777).toBe(0o700);
    }
    // A container runs with it.
    const env: NodeJS.ProcessEnv = { ...w.env, HOME: home };
    delete env.XDG_RUNTIME_DIR;
    const r = await moat(['run', '--rm', IMG, 'true'], { env });
    expect(r.code, r.stderr).toBe(0);
  });

  it('a runtime directory that is a symlink (made first by someone else) is refused', async () => {
    const home = path.join(base, uniq('home'));
    mkdirSync(path.join(home, '.cache', 'moat'), { recursive: true, mode: 0o700 });
    const elsewhere = path.join(base, uniq('elsewhere'));
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, path.join(home, '.cache', 'moat', 'run'));
    const env: NodeJS.ProcessEnv = { ...w.env, HOME: home };
    delete env.XDG_RUNTIME_DIR;
    const r = await moat(['info'], { env });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/is not a private directory .*\[RUNTIME_UNSAFE_DIR\]/);
  });
});

describe("bind mounts of moat's own files and of host paths, canonical", () => {
  it('the CLI: the runtime, data and config directories, a parent of the runtime directory, symlinks to them', async () => {
    const link = path.join(base, uniq('link'));
    symlinkSync(runtime, link);
    const procLink = path.join(base, uniq('proc'));
    symlinkSync('/proc', procLink);
    const data = path.join(w.env.XDG_DATA_HOME!, 'moat');
    const cases: [string, RegExp][] = [
      [`${runtime}:/x`, new RegExp(`mounting host path ${runtime} is not allowed`)],
      [`${data}/containers:/x:ro`, /mounting host path .*\/data\/moat\/containers is not allowed/],
      [`${w.configDir}:/x:ro`, /mounting host path .*\/config\/moat is not allowed/],
      [`${w.env.XDG_RUNTIME_DIR}:/x:ro`, /is not allowed: it contains .*\/run\/moat/],
      [`${link}:/x:ro`, new RegExp(`mounting host path ${link} \\(${runtime}\\) is not allowed`)],
      [`${procLink}:/x:ro`, /\(\/proc\) is not allowed/],
      [`${base}/x/../run/./moat:/x:ro`, /is not allowed/],
      [
        `${w.env.XDG_DATA_HOME}:/x`,
        /read-write is not allowed: it contains .*\/data\/moat \(mount it read-only\)/,
      ],
    ];
    for (const [v, why] of cases) {
      const r = await w.moat(['run', '--rm', '-v', v, IMG, 'true']);
      expect(r.code, `${v}: ${r.stderr}`).toBe(3);
      expect(r.stderr, v).toMatch(why);
    }
    // Read-only, a parent of moat's data (not of its runtime directory or sockets) may be mounted.
    const ro = await w.moat(['run', '--rm', '-v', `${w.env.XDG_DATA_HOME}:/x:ro`, IMG, 'true']);
    expect(ro.code, ro.stderr).toBe(0);
    const ok = path.join(base, uniq('ok'));
    mkdirSync(ok);
    expect((await w.moat(['run', '--rm', '-v', `${ok}:/x`, IMG, 'true'])).code).toBe(0);
  });

  it("/v1 and docker: non-canonical spellings of /etc and /proc, moat's runtime directory and its API socket", async () => {
    await withService(w, {}, async (s) => {
      const spellings = ['//etc', '/./proc', '/tmp/../proc', `/${runtime}`, `${base}/./run/moat`, s.socket];
      for (const src of spellings) {
        const api = await v1Create(s, {
          image: IMG,
          volumes: [{ host: src, container: '/x', readonly: true }],
        });
        expect(api.status, `${src}: ${JSON.stringify(api.body)}`).toBe(403);
        expect(api.body.message, src).toMatch(/mounting host path .* is not allowed/);
        const d = docker(s, w, ['run', '--rm', '-v', `${src}:/x:ro`, IMG, 'true']);
        expect(d.code, src).not.toBe(0);
        expect(d.stderr, src).toMatch(/mounting host path .* is not allowed/);
      }
      // The service's own socket, where a container would drive moat.
      const sock = docker(s, w, ['run', '--rm', '-v', `${s.socket}:/var/run/docker.sock`, IMG, 'true']);
      expect(sock.stderr).toMatch(new RegExp(`mounting host path ${s.socket} is not allowed`));
      const ok = path.join(base, uniq('ok'));
      mkdirSync(ok);
      expect(docker(s, w, ['run', '--rm', '-v', `${ok}:/x`, IMG, 'true']).code).toBe(0);
    });
  });
});
