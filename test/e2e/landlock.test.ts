/**
 * Issue 17, Landlock: moat-init (native/moat-init.c) confines every container's writes to the
 * paths it may write (spec/landlock.ts), below the user namespace and seccomp; and it is the init
 * of --init in place of tini. As the non-root test user, on this host's kernel (Landlock ABI ≥ 4).
 *
 * The refused write: /dev is a tmpfs runc mounts writable for container root (landlock=off shows
 * that the very same write then succeeds), and a process there could make files in it (e.g. a
 * FIFO or a script to be found later). Landlock grants /dev only the writing of the files that
 * are there (/dev/null, the terminal), so creating one is EACCES: the refusal is Landlock's, not
 * the mount's (which would say EROFS) nor the owner's (the process is root, owner of /dev).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { env, IMAGE, moat, sh, uniq } from './moat.js';

const names: string[] = [];
afterAll(async () => {
  for (const n of names) await moat(['rm', '-f', n]);
});

/** A directory of the test user's that container root (the user itself) may write. */
function hostDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'moat-ll-'));
}

describe('Landlock (on by default)', () => {
  it('moat info reports the ABI, and containers get it by default', async () => {
    const r = await moat(['info', '--format', 'json']);
    const i = JSON.parse(r.stdout) as {
      security: { landlock: string; landlockAbi: number; landlockByDefault: boolean };
    };
    expect(i.security.landlockAbi).toBeGreaterThanOrEqual(4);
    expect(i.security.landlockByDefault).toBe(true);
  });

  it('a write where the mount allows it but Landlock does not: EACCES; with landlock=off it succeeds', async () => {
    const script =
      'id -u; touch /dev/made-here; echo "touch=$?"; mkdir /dev/d; echo "mkdir=$?"; ls /dev/made-here';
    const on = await sh(script);
    expect(on.stdout).toMatch(/^0\ntouch=1\nmkdir=1\n$/);
    expect(on.stderr).toMatch(/touch: \/dev\/made-here: Permission denied/); // EACCES, not EROFS or EPERM
    expect(on.stderr).toMatch(/mkdir: can't create directory '\/dev\/d': Permission denied/);
    const off = await sh(script, ['--security-opt', 'landlock=off']);
    expect(off.stdout).toBe('0\ntouch=0\nmkdir=0\n/dev/made-here\n');
  });

  it('writes where the container may write: /tmp, /run, /dev/shm, --tmpfs, a rw bind and a named volume; devices and /proc/self', async () => {
    const dir = hostDir();
    const vol = uniq('llvol');
    const r = await sh(
      [
        'for d in /tmp /run /dev/shm /scratch /data /vol; do echo x > $d/f && mkdir $d/sub && mv $d/f $d/sub/g && rm -r $d/sub && echo "$d ok"; done',
        'echo x > /dev/null && echo null ok',
        'echo 500 > /proc/self/oom_score_adj && echo proc ok',
        'echo x > /data/kept',
      ].join('; '),
      ['--tmpfs', '/scratch', '-v', `${dir}:/data`, '-v', `${vol}:/vol`],
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      ['/tmp', '/run', '/dev/shm', '/scratch', '/data', '/vol'].map((d) => `${d} ok\n`).join('') +
        'null ok\nproc ok\n',
    );
    expect(readFileSync(path.join(dir, 'kept'), 'utf8')).toBe('x\n');
    await moat(['volume', 'rm', vol]);
  });

  it('a read-only bind stays read-only; --read-write opens the root', async () => {
    const dir = hostDir();
    writeFileSync(path.join(dir, 'f'), 'host\n');
    const ro = await sh('echo x > /conf/f', ['-v', `${dir}:/conf:ro`]);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    const rw = await sh('echo x > /etc/made && mkdir /made-dir && echo ok', ['--read-write']);
    expect(rw.stdout).toBe('ok\n');
  });

  it('processes the command starts inherit it; nothing in the container can lift it', async () => {
    // A child shell, and a second Landlock layer the container makes itself, cannot widen it:
    // there is no syscall to undo one, and no_new_privs is set.
    const r = await sh('sh -c "touch /dev/x2" ; echo "child=$?"; grep NoNewPrivs /proc/self/status');
    expect(r.stdout).toBe('child=1\nNoNewPrivs:\t1\n');
  });

  it('moat exec runs its command under the same ruleset; a command that is not there is still a moat error', async () => {
    const name = uniq('ll-exec');
    names.push(name);
    expect((await moat(['run', '-d', '--name', name, IMAGE, 'sleep', '300'])).code).toBe(0);
    const w = await moat([
      'exec',
      name,
      'sh',
      '-c',
      'touch /dev/e; echo "dev=$?"; echo x > /tmp/e && echo tmp-ok',
    ]);
    expect(w.stdout).toBe('dev=1\ntmp-ok\n');
    expect(w.stderr).toMatch(/touch: \/dev\/e: Permission denied/);
    // moat-init's error pipe is not the command's: the shell has only its stdio (`; true`: it
    // forks ls instead of becoming it, whose own directory descriptor would be listed).
    const fds = await moat(['exec', name, 'sh', '-c', 'ls /proc/$$/fd; true']);
    expect(fds.stdout.trim().split('\n').sort()).toEqual(['0', '1', '2']);
    const nf = await moat(['exec', name, 'nonexistent-cmd']);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toBe(
      `moat: cannot exec in ${name}: "nonexistent-cmd": executable file not found in $PATH [RUNTIME_COMMAND_NOT_FOUND]\nhint: check the command's name and the container's PATH, or give an absolute path\n`,
    );
    // A command's own 127 stays its own.
    const own = await moat(['exec', name, 'sh', '-c', 'exit 127']);
    expect(own.code).toBe(127);
    expect(own.stderr).toBe('');
  });

  it('landlock=strict runs here (the kernel has it); an unknown mode is refused', async () => {
    const ok = await sh('touch /dev/x3', ['--security-opt', 'landlock=strict']);
    expect(ok.code).toBe(1);
    expect(ok.stderr).toMatch(/Permission denied/);
    const bad = await moat(['run', '--rm', '--security-opt', 'landlock=maybe', IMAGE, 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --security-opt landlock=maybe/);
  });

  it('a policy can require it: data.moat.require_landlock refuses landlock=off', async () => {
    const dir = hostDir();
    const data = path.join(dir, 'data.json');
    writeFileSync(data, JSON.stringify({ moat: { require_landlock: true } }));
    const e = { ...env(), MOAT_POLICY: `${path.join(inject('moatEnv').root, 'policies')}:${data}` };
    const denied = await moat(['run', '--rm', '--security-opt', 'landlock=off', IMAGE, 'true'], { env: e });
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/Landlock is required/);
    const ok = await moat(['run', '--rm', IMAGE, 'true'], { env: e });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('inspect shows what was applied (the spec annotation the policy reads)', async () => {
    const name = uniq('ll-insp');
    names.push(name);
    const c = await moat(['create', '--name', name, '-v', '/w', IMAGE, 'true']);
    expect(c.code, c.stderr).toBe(0);
    const i = await moat(['inspect', name]);
    const text = i.stdout;
    const m = /"io\.moat\.landlock": "((?:[^"\\]|\\.)*)"/.exec(text);
    expect(m).not.toBeNull();
    const f = JSON.parse(JSON.parse(`"${m![1]}"`) as string) as { enabled: boolean; writable: string[] };
    expect(f.enabled).toBe(true);
    expect(f.writable).toEqual(['/dev/mqueue', '/dev/shm', '/run', '/tmp', '/w']);
    // And what protects it, as inspect --security reports it.
    const [sec] = JSON.parse((await moat(['inspect', '--security', name])).stdout) as {
      landlock: { enabled: boolean; abi: number; writable: string[]; writable_files: string[] };
    }[];
    expect(sec.landlock).toMatchObject({
      enabled: true,
      writable: f.writable,
      writable_files: ['/dev', '/proc'],
    });
    expect(sec.landlock.abi).toBeGreaterThanOrEqual(4);
  });
});

describe('moat-init as PID 1', () => {
  it('without --init the command is PID 1 (moat-init execs it)', async () => {
    const r = await sh('cat /proc/1/cmdline | tr "\\0" " "');
    expect(r.stdout).toBe('sh -c cat /proc/1/cmdline | tr "\\0" " " ');
  });

  it('a command that is not there fails the start as before: 127, 126, no container left', async () => {
    const nf = await moat(['run', '--rm', IMAGE, 'no-such-command']);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toMatch(
      /"no-such-command": executable file not found in \$PATH \[RUNTIME_COMMAND_NOT_FOUND\]/,
    );
    const nx = await moat(['run', '--rm', IMAGE, '/etc/passwd']);
    expect(nx.code).toBe(126);
    expect(nx.stderr).toMatch(/RUNTIME_COMMAND_NOT_EXECUTABLE/);
    // Found through the container's PATH, from its working directory, as runc looks.
    const rel = await moat(['run', '--rm', '-w', '/bin', IMAGE, './true']);
    expect(rel.code, rel.stderr).toBe(0);
  });

  it('--init: moat-init stays PID 1, reaps orphans and returns the command status', async () => {
    const r = await sh(
      'cat /proc/1/cmdline | tr "\\0" " "; echo; (sleep 0.2 &) ; sleep 0.5; ps -o stat,comm | grep -c Z; exit 7',
      ['--init'],
    );
    expect(r.code).toBe(7);
    const [cmdline, zombies] = r.stdout.trim().split('\n');
    expect(cmdline).toMatch(/^\/dev\/init --landlock-write .* --reap -- sh -c /);
    expect(zombies).toBe('0');
    // And with Landlock off, it is the init all the same.
    const off = await sh('cat /proc/1/cmdline | tr "\\0" " "', ['--init', '--security-opt', 'landlock=off']);
    expect(off.stdout).toMatch(/^\/dev\/init --landlock-off --reap -- sh -c /);
  });

  it('--init passes SIGTERM on: sleep dies of it and the container ends 143', async () => {
    const name = uniq('ll-term');
    names.push(name);
    const r = await moat(['run', '-d', '--init', '--name', name, IMAGE, 'sleep', '300']);
    expect(r.code, r.stderr).toBe(0);
    // sleep as PID 1 would ignore SIGTERM; as moat-init's child it gets it and dies of it.
    await new Promise((res) => setTimeout(res, 300));
    expect((await moat(['kill', '-s', 'TERM', name])).code).toBe(0);
    const w = await moat(['wait', name]);
    expect(w.stdout.trim()).toBe('143');
  });

  it('--init with a terminal: the command is in the foreground and its writes to the terminal work', async () => {
    const r = await moat(['run', '--rm', '-t', '--init', IMAGE, 'sh', '-c', 'echo hi > /dev/tty; exit 4']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/hi/);
  });
});
