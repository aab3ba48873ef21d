/**
 * Hardened by default, checked from inside real containers started by a non-root user.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { IMAGE, moat, sh } from './moat.js';

function status(out: string, field: string): string {
  const m = new RegExp(`^${field}:\\s*(\\S+)`, 'm').exec(out);
  if (!m) throw new Error(`no ${field} in ${out}`);
  return m[1];
}

const myUid = process.getuid!();
const sub = readFileSync('/etc/subuid', 'utf8')
  .split('\n')
  .map((l) => l.split(':'))
  .find((p) => p[0] === process.env.USER || p[0] === String(myUid));

describe('isolation (as a non-root user)', () => {
  it('runs the default image, which reports its isolation, with exit status 0', async () => {
    const r = await moat(['run', '--rm', IMAGE]);
    expect(r.stderr).not.toMatch(/moat:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/moat isolation report/);
    expect(r.stdout).toMatch(/root filesystem:\s+read-only/);
    expect(r.stdout).toMatch(/mount:\s+denied/);
    expect(r.stdout).toMatch(/unshare -U:\s+denied/);
  });

  it('maps container root to the caller and other IDs to the subordinate range', async () => {
    expect(myUid).not.toBe(0);
    const r = await sh('cat /proc/self/uid_map /proc/self/gid_map');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number));
    expect(lines[0]).toEqual([0, myUid, 1]);
    expect(sub, 'the test user needs an /etc/subuid range').toBeDefined();
    expect(lines[1]).toEqual([1, Number(sub![1]), Number(sub![2])]);
  });

  it('keeps image owners: a file owned by 1000 in the image is 1000 inside', async () => {
    const r = await sh('stat -c %u:%g /home/app /home/app/.profile /bin/busybox');
    expect(r.stdout.trim().split('\n')).toEqual(['1000:1000', '1000:1000', '0:0']);
  });

  it('has no capabilities, no_new_privs and a seccomp filter', async () => {
    const r = await sh('cat /proc/self/status');
    expect(status(r.stdout, 'CapEff')).toBe('0000000000000000');
    expect(status(r.stdout, 'CapPrm')).toBe('0000000000000000');
    expect(status(r.stdout, 'CapBnd')).toBe('0000000000000000');
    expect(status(r.stdout, 'NoNewPrivs')).toBe('1');
    expect(status(r.stdout, 'Seccomp')).toBe('2');
  });

  it('--cap-add grants exactly the named capability', async () => {
    const r = await sh('grep CapEff /proc/self/status', ['--cap-add', 'NET_RAW']);
    expect(status(r.stdout, 'CapEff')).toBe((1n << 13n).toString(16).padStart(16, '0'));
  });

  it('has a read-only root (EROFS) with writable /tmp and /run', async () => {
    const r = await sh('touch /x 2>&1; echo rc=$?; touch /tmp/x /run/x && echo tmp-ok');
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout).toMatch(/rc=1/);
    expect(r.stdout).toMatch(/tmp-ok/);
    const rw = await sh('touch /x && echo rw-ok', ['--read-write']);
    expect(rw.stdout).toMatch(/rw-ok/);
  });

  it('denies mount and unshare -U with EPERM', async () => {
    const r = await sh(
      'mount -t tmpfs none /mnt; echo mount=$?; unshare -U true; echo unshare=$?; unshare -m true; echo unsharem=$?',
    );
    expect(r.stdout).toMatch(/mount=[1-9]/);
    expect(r.stdout).toMatch(/unshare=[1-9]/);
    expect(r.stdout).toMatch(/unsharem=[1-9]/);
    expect(r.stderr + r.stdout).toMatch(/Operation not permitted|permission denied/i);
  });

  it('hides host processes and isolates the hostname and network', async () => {
    const r = await sh('ls -d /proc/[0-9]* | wc -l; hostname; ls /sys/class/net', ['--hostname', 'boxy']);
    const [procs, host, ...nets] = r.stdout.trim().split('\n');
    expect(Number(procs)).toBeLessThanOrEqual(4); // sh, ls, wc (and the subshell)
    expect(host).toBe('boxy');
    expect(nets).toEqual(['lo']);
  });

  it("/dev is the container's own: a fresh tmpfs with the standard devices and no console without a TTY", async () => {
    // runc mounts /dev/console only for a terminal (CVE-2025-52565 redirects that mount); the
    // devices are binds of the host's nodes on a tmpfs nothing else shares. /dev/init is
    // moat-init (the Landlock wrapper, README "Landlock"), a read-only bind.
    const r = await sh('ls /dev; grep " /dev " /proc/self/mountinfo');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const entries = lines.slice(0, -1).sort();
    expect(entries).toEqual(
      [
        'fd',
        'full',
        'init',
        'mqueue',
        'null',
        'ptmx',
        'pts',
        'random',
        'shm',
        'stderr',
        'stdin',
        'stdout',
        'tty',
        'urandom',
        'zero',
      ].sort(),
    );
    expect(entries).not.toContain('console');
    expect(lines[lines.length - 1]).toMatch(/ \/dev rw,nosuid - tmpfs tmpfs /);
    const init = await sh('grep " /dev/init " /proc/self/mountinfo; echo x > /dev/init; echo "w=$?"');
    expect(init.stdout).toMatch(/ \/dev\/init ro[, ]/);
    expect(init.stdout).toContain('w=1');
  });

  it('masks /proc paths and keeps /proc/sys read-only', async () => {
    const r = await sh(
      'wc -c < /proc/kcore; cat /proc/keys | wc -c; echo 1 > /proc/sys/kernel/domainname; echo w=$?',
    );
    expect(r.stdout.split('\n')[0].trim()).toBe('0');
    expect(r.stdout).toMatch(/w=1/);
  });

  it('runs as a mapped user with -u, and refuses unmapped IDs clearly', async () => {
    const r = await sh('id -u; id -g', ['-u', '1000:1000']);
    expect(r.stdout.trim().split('\n')).toEqual(['1000', '1000']);
    const bad = await sh('true', ['-u', '99999999']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/RUNTIME_INVALID_OPTION/);
  });
});
