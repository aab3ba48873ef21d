/**
 * Issue 17, seccomp profiles learned from a run, as the non-root test user: `moat seccomp learn`
 * prints a profile that runs the same workload and refuses a call it did not make (EPERM);
 * busybox httpd learned while it served a page (run -d --seccomp-learn, stop), then served again
 * under its profile; --merge, diff and explain.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchPage, freePort } from './http-helpers.js';
import { IMAGE, moat, uniq } from './moat.js';

const dir = mkdtempSync(path.join(tmpdir(), 'moat-learn-e2e-'));
const names: string[] = [];
afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
  rmSync(dir, { recursive: true, force: true });
});

const WORK = 'echo hi > /tmp/a && cat /tmp/a && ln -s /tmp/a /tmp/l && readlink /tmp/l';

describe('moat seccomp learn', () => {
  it('prints a profile that runs the workload again and refuses a call it did not make', async () => {
    const r = await moat(['seccomp', 'learn', IMAGE, 'sh', '-c', WORK]);
    expect(r.code, r.stderr).toBe(0);
    // The workload's output went to stderr; stdout is the profile alone.
    expect(r.stderr).toContain('hi\n/tmp/a\n');
    expect(r.stderr).toMatch(/moat: \d+ system calls/);
    const profile = JSON.parse(r.stdout) as { defaultAction: string; syscalls: { names: string[] }[] };
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    const allowed = profile.syscalls.flatMap((s) => s.names);
    // busybox calls the old spellings (symlink, readlink, mkdir), libc the *at ones: either.
    expect(allowed).toContain('execve');
    expect(allowed.some((n) => /^symlink(at)?$/.test(n))).toBe(true);
    expect(allowed.some((n) => /^readlink(at)?$/.test(n))).toBe(true);
    expect(allowed.some((n) => /^mkdir(at)?$/.test(n))).toBe(false);
    const file = path.join(dir, 'work.json');
    writeFileSync(file, r.stdout);

    // The same workload under the learned profile, several times (what runc's init may need).
    for (let i = 0; i < 3; i++) {
      const again = await moat(['run', '--rm', '--security-opt', `seccomp=${file}`, IMAGE, 'sh', '-c', WORK]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe('hi\n/tmp/a\n');
    }
    // A call it never made: refused with EPERM; under the default profile it works (the control).
    const more = `${WORK} && mkdir /tmp/d && echo made`;
    const refused = await moat(['run', '--rm', '--security-opt', `seccomp=${file}`, IMAGE, 'sh', '-c', more]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/mkdir: can't create directory '\/tmp\/d': Operation not permitted/);
    const control = await moat(['run', '--rm', IMAGE, 'sh', '-c', more]);
    expect(control.stdout).toContain('made');

    // --merge: a second run's calls added to the first's; diff says what differs; explain says why.
    const merged = path.join(dir, 'merged.json');
    const m = await moat(['seccomp', 'learn', '--merge', file, '-o', merged, IMAGE, 'mkdir', '/tmp/d']);
    expect(m.code, m.stderr).toBe(0);
    const both = await moat(['run', '--rm', '--security-opt', `seccomp=${merged}`, IMAGE, 'sh', '-c', more]);
    expect(both.code, both.stderr).toBe(0);
    expect(both.stdout).toContain('made');
    const d = await moat(['seccomp', 'diff', file, merged, '--format', 'json']);
    expect(d.code).toBe(1);
    expect((JSON.parse(d.stdout) as { onlyB: string[] }).onlyB.some((n) => /^mkdir(at)?$/.test(n))).toBe(
      true,
    );
    const ex = await moat(['seccomp', 'explain', merged]);
    expect(ex.code).toBe(0);
    expect(ex.stdout).toMatch(/^mkdir(at)?\s+default\s+paths/m);
  });

  it('learns busybox httpd while it serves (run -d --seccomp-learn, stop), then serves under that profile', async () => {
    const file = path.join(dir, 'httpd.json');
    const learnPort = await freePort();
    const name = uniq('learn-httpd');
    names.push(name);
    const serve =
      'mkdir -p /tmp/www && echo learned-page > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www';
    const r = await moat([
      'run',
      '-d',
      '--name',
      name,
      '--seccomp-learn',
      file,
      '-p',
      `127.0.0.1:${learnPort}:8080`,
      IMAGE,
      'sh',
      '-c',
      serve,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await fetchPage(learnPort, 50)).toBe('learned-page\n');
    expect((await moat(['stop', '-t', '2', name])).code).toBe(0);
    const profile = JSON.parse(readFileSync(file, 'utf8')) as { syscalls: { names: string[] }[] };
    const calls = profile.syscalls.flatMap((s) => s.names);
    expect(calls).toEqual(expect.arrayContaining(['bind', 'listen']));
    expect(calls.some((n) => /^accept4?$/.test(n))).toBe(true);

    const port = await freePort();
    const web = uniq('learned-httpd');
    names.push(web);
    const s = await moat([
      'run',
      '-d',
      '--name',
      web,
      '--security-opt',
      `seccomp=${file}`,
      '-p',
      `127.0.0.1:${port}:8080`,
      IMAGE,
      'sh',
      '-c',
      serve,
    ]);
    expect(s.code, s.stderr).toBe(0);
    expect(await fetchPage(port, 50)).toBe('learned-page\n');
  });

  it("learns Debian's python3 (a rootfs of the host's python3.11 package), runs it under its profile, refuses a call it never made", async () => {
    if (!existsSync('/usr/bin/python3.11'))
      throw new Error("this test needs Debian bookworm's python3.11 (apt-get install python3)");
    // The interpreter, the libraries it links and the parts of its standard library it imports.
    const tar = path.join(dir, 'python.tar');
    const lib = '/usr/lib/python3.11';
    const py = readdirSync(lib)
      .filter((f) => f.endsWith('.py'))
      .map((f) => `${lib.slice(1)}/${f}`);
    const pkgs = ['encodings', 'json', 'collections', 're', 'importlib'].map((d) => `${lib.slice(1)}/${d}`);
    const libs = execFileSync('ldd', ['/usr/bin/python3.11'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
      .filter((x): x is string => Boolean(x))
      .map((x) => x.slice(1));
    execFileSync('tar', [
      '-C',
      '/',
      '-chf',
      tar,
      '--exclude=__pycache__',
      'usr/bin/python3.11',
      ...libs,
      ...py,
      ...pkgs,
    ]);
    const image = `learn/python-${uniq('py')}`;
    const imp = await moat(['import', tar, image]);
    expect(imp.code, imp.stderr).toBe(0);
    const script =
      "import json; open('/tmp/a','w').write(json.dumps({'k': 1})); print(open('/tmp/a').read())";
    const pyRun = (extra: string) => ['/usr/bin/python3.11', '-S', '-I', '-c', `${script}${extra}`];
    const file = path.join(dir, 'python.json');
    const l = await moat(['seccomp', 'learn', '-o', file, image, ...pyRun('')]);
    expect(l.code, l.stderr).toBe(0);
    expect(l.stderr).toContain('{"k": 1}');
    const ok = await moat(['run', '--rm', '--security-opt', `seccomp=${file}`, image, ...pyRun('')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('{"k": 1}\n');
    const link = "; import os; os.symlink('/tmp/a', '/tmp/l'); print('linked')";
    const refused = await moat(['run', '--rm', '--security-opt', `seccomp=${file}`, image, ...pyRun(link)]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/PermissionError: \[Errno 1\] Operation not permitted/);
    const control = await moat(['run', '--rm', image, ...pyRun(link)]);
    expect(control.stdout).toContain('linked');
    await moat(['rmi', image]);
  });

  it('refuses what cannot go with a learning run', async () => {
    const both = await moat([
      'run',
      '--rm',
      '--seccomp-learn',
      path.join(dir, 'x.json'),
      '--security-opt',
      `seccomp=${path.join(dir, 'work.json')}`,
      IMAGE,
      'true',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/cannot go together/);
    const ns = await moat(['run', '--rm', '--allow-namespaces', IMAGE, 'true']);
    expect(ns.code).toBe(2);
    expect(ns.stderr).toMatch(/--allow-namespaces is for a learning run/);
  });
});
