/** `moat run` options, each checked from inside a container. */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { inject } from 'vitest';
import { IMAGE, moat, sh, uniq } from './moat.js';

describe('run options', () => {
  it('-e, -w, --entrypoint and --hostname', async () => {
    const r = await moat([
      'run',
      '--rm',
      '-e',
      'A=1',
      '-e',
      'B=two words',
      '-w',
      '/tmp',
      '--hostname',
      'h1',
      IMAGE,
      'sh',
      '-c',
      'echo "$A|$B|$(pwd)|$(hostname)|$HOSTNAME"',
    ]);
    expect(r.stdout).toBe('1|two words|/tmp|h1|h1\n');
    const ep = await moat(['run', '--rm', '--entrypoint', '/bin/echo', IMAGE, 'from', 'entrypoint']);
    expect(ep.stdout).toBe('from entrypoint\n');
  });

  it('-v binds host directories read-write and read-only', async () => {
    const dir = path.join(inject('moatEnv').base, uniq('vol'));
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'in.txt'), 'from host\n');
    const r = await moat([
      'run',
      '--rm',
      '-v',
      `${dir}:/data`,
      '-v',
      `${dir}:/ro:ro`,
      IMAGE,
      'sh',
      '-c',
      'cat /data/in.txt; echo out > /data/out.txt; echo x > /ro/x 2>/dev/null; echo ro=$?',
    ]);
    expect(r.stdout).toBe('from host\nro=1\n');
    expect(readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('out\n');
    const missing = await moat(['run', '--rm', '-v', '/no/such/dir:/x', IMAGE, 'true']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist/);
    // ./relative is neither an absolute host path nor a volume name.
    const rel = await moat(['run', '--rm', '-v', './relative:/x', IMAGE, 'true']);
    expect(rel.code).toBe(2);
  });

  it('--tmpfs mounts a tmpfs with options', async () => {
    const r = await sh('grep " /scratch " /proc/mounts', ['--tmpfs', '/scratch:size=1m,mode=1777']);
    expect(r.stdout).toMatch(/tmpfs \/scratch tmpfs .*size=1024k/);
    const bad = await moat(['run', '--rm', '--tmpfs', '/x:exec,bogus', IMAGE, 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unsupported tmpfs option "bogus"/);
  });

  it('-i passes stdin through', async () => {
    const r = await moat(['run', '--rm', '-i', IMAGE, 'sh', '-c', 'tr a-z A-Z'], { input: 'hello stdin\n' });
    expect(r.stdout).toBe('HELLO STDIN\n');
    const noI = await moat(['run', '--rm', IMAGE, 'cat'], { input: 'ignored\n' });
    expect(noI.stdout).toBe('');
  });

  it('--init runs an init as PID 1 (moat-init, which reaps: --reap) and reaps orphans', async () => {
    const r = await sh(
      'cat /proc/1/cmdline | tr "\\0" " "; echo; (sleep 0.2 &) ; sleep 0.5; ps -o stat,comm | grep -c Z || true',
      ['--init'],
    );
    // moat-init in place of tini when it is built (it is here): its Landlock options, then --reap.
    expect(r.stdout.split('\n')[0]).toMatch(/^\/dev\/init (.* )?--reap -- sh -c/);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('0');
  });

  it('--cap-add refuses unknown capabilities and ALL', async () => {
    const r = await moat(['run', '--rm', '--cap-add', 'NOT_A_CAP', IMAGE, 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown capability/);
    const all = await moat(['run', '--rm', '--cap-add', 'ALL', IMAGE, 'true']);
    expect(all.code).toBe(2);
  });

  it('logs -f follows a running container to its end; exec -u and -w work', async () => {
    const name = uniq('follow');
    await moat([
      'run',
      '-d',
      '--name',
      name,
      IMAGE,
      'sh',
      '-c',
      'for i in 1 2 3; do echo line$i; sleep 0.3; done',
    ]);
    const ex = await moat(['exec', '-u', '1000:1000', '-w', '/home/app', name, 'sh', '-c', 'id -u; pwd']);
    expect(ex.stdout).toBe('1000\n/home/app\n');
    const f = await moat(['logs', '-f', name]);
    expect(f.stdout).toBe('line1\nline2\nline3\n');
    const t = await moat(['logs', '-t', '--tail', '1', name]);
    expect(t.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z line3\n$/);
    await moat(['rm', name]);
  });
});
