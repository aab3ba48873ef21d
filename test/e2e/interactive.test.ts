/**
 * Interactive containers (issue 15) driven through a real terminal: each test starts its own tmux
 * server (its own socket, no user config) running bash in a 100x30 window, types moat commands
 * into it and reads the screen back (capture-pane). Nothing is mocked: moat's raw mode, window
 * sizes, detach keys, Ctrl-C and job control go through the host's and the container's ptys.
 * Waits poll the screen until what is expected shows up (besides a few 300 ms pauses for a process
 * to start after it said so), so a loaded machine only makes them slower. Each test kills its tmux
 * servers; the containers go at the end.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { inject } from 'vitest';
import { bin, env, IMAGE, moat, uniq } from './moat.js';

const WAIT = 45_000;
const LONG = 240_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A directory of the suite's own, with a `moat` on PATH for the shell in tmux. */
const work = mkdtempSync(path.join(inject('moatEnv').base, 'tty-'));
const binDir = path.join(work, 'bin');
mkdirSync(binDir);
writeFileSync(path.join(binDir, 'moat'), `#!/bin/sh\nexec '${process.execPath}' '${bin()}' "$@"\n`, {
  mode: 0o755,
});

/** A tmux server with one window running bash; see the module comment. */
class Term {
  private readonly sock: string;
  private readonly env: NodeJS.ProcessEnv;
  private seq = 0;

  constructor(extraEnv: NodeJS.ProcessEnv = {}) {
    this.sock = path.join(work, `${uniq('tmux').slice(-6)}.sock`);
    const e: NodeJS.ProcessEnv = { ...env(), ...extraEnv, PATH: `${binDir}:${process.env.PATH ?? ''}` };
    delete e.TMUX;
    this.env = e;
  }

  tmux(args: string[]): string {
    return execFileSync('tmux', ['-S', this.sock, '-f', '/dev/null', ...args], {
      env: this.env,
      encoding: 'utf8',
      timeout: 20_000,
    });
  }

  async start(cols = 100, rows = 30): Promise<void> {
    this.tmux([
      'new-session',
      '-d',
      '-x',
      String(cols),
      '-y',
      String(rows),
      'bash --norc --noprofile',
      ';',
      'set-option',
      '-g',
      'status',
      'off',
      ';',
      'set-option',
      '-g',
      'remain-on-exit',
      'on',
      ';',
      'set-option',
      '-g',
      'history-limit',
      '10000',
    ]);
    await this.waitFor((s) => /\$\s*$/.test(lastLine(s)), 'the host shell prompt');
    // the host terminal's settings, to compare with after moat (sane())
    this.type('S0=$(stty -g)');
  }

  /** Keys as tmux names them (C-c, Enter). */
  keys(...k: string[]): void {
    this.tmux(['send-keys', ...k]);
  }

  /** A line of text, literally, then Enter. */
  type(line: string): void {
    this.tmux(['send-keys', '-l', line]);
    this.tmux(['send-keys', 'Enter']);
  }

  /** The whole pane, its history included, wrapped lines joined. */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-S', '-']);
  }

  /** The window's size as tmux has it. */
  size(): string {
    return this.tmux(['display-message', '-p', '#{pane_height} #{pane_width}']).trim();
  }

  async waitFor(
    want: RegExp | ((screen: string) => boolean),
    what: string,
    timeoutMs = WAIT,
  ): Promise<string> {
    const ok = typeof want === 'function' ? want : (s: string) => want.test(s);
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      if (ok(s)) return s;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; the screen:\n${s}`);
      await sleep(100);
    }
  }

  /**
   * Waits for `TAG=<status>` that the host shell prints after a command (at the end of a line: it
   * follows the container's prompt when exec -it detaches); returns the status.
   */
  async status(tag: string, timeoutMs = WAIT): Promise<number> {
    const re = new RegExp(`(?<![\\w"])${tag}=(\\d+)\\s*$`, 'm');
    const s = await this.waitFor(re, `${tag}=<status>`, timeoutMs);
    return Number(re.exec(s)![1]);
  }

  /** Types a host command followed by `echo TAG=$?` (see status). */
  host(cmd: string, tag: string): void {
    this.type(`${cmd}; echo "${tag}=$?"`);
  }

  /** Asserts that the host terminal is as it was before moat ran (raw mode undone). */
  async sane(): Promise<void> {
    const tag = `sane${++this.seq}x`;
    this.type(`[ "$(stty -g)" = "$S0" ]; echo "${tag}=$?"`);
    expect(await this.status(tag)).toBe(0);
  }

  /** Waits for the container's shell prompt (busybox ash as root: `/ # `) on the last line. */
  async prompt(): Promise<void> {
    await this.waitFor((s) => lastLine(s) === '/ #', "the container's shell prompt");
  }

  /**
   * Runs a command line in the shell on the other end (the container's), followed by a marker
   * that prints its status; returns what it printed (between the echoed line and the marker).
   */
  async sh(line: string, timeoutMs = WAIT): Promise<{ out: string; status: number }> {
    const tag = `mk${++this.seq}x`;
    const echo = `echo "${tag}=$?"`;
    this.type(`${line}${/&\s*$/.test(line) ? ' ' : '; '}${echo}`);
    const re = new RegExp(`^${tag}=(\\d+)\\s*$`);
    const lines = (await this.waitFor(new RegExp(re.source, 'm'), `the output of ${line}`, timeoutMs)).split(
      '\n',
    );
    const end = lines.findIndex((l) => re.test(l));
    let start = end - 1;
    while (start >= 0 && !lines[start].includes(echo)) start--;
    return {
      out: lines
        .slice(start + 1, end)
        .map((l) => l.trimEnd())
        .join('\n'),
      status: Number(re.exec(lines[end])![1]),
    };
  }

  kill(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      /* not running */
    }
    rmSync(this.sock, { force: true });
  }
}

function lastLine(screen: string): string {
  const lines = screen.split('\n').filter((l) => l.trim() !== '');
  return (lines.at(-1) ?? '').trim();
}

const terms: Term[] = [];
const names: string[] = [];

function term(extraEnv?: NodeJS.ProcessEnv): Term {
  const t = new Term(extraEnv);
  terms.push(t);
  return t;
}

function container(prefix: string): string {
  const n = uniq(prefix);
  names.push(n);
  return n;
}

afterEach(() => {
  for (const t of terms.splice(0)) t.kill();
});

afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
  rmSync(work, { recursive: true, force: true });
});

async function psOf(
  name: string,
): Promise<{ State: string; Status: string; ExitCode: number | null } | undefined> {
  const r = await moat(['ps', '-a', '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return (
    JSON.parse(r.stdout) as { Names: string; State: string; Status: string; ExitCode: number | null }[]
  ).find((c) => c.Names === name);
}

/**
 * `stty size` in the container until it shows `want`: a resize travels (SIGWINCH to moat, to
 * moat-tty's FIFO, TIOCSWINSZ) beside the typed keys, so the first stty may still see the old size.
 */
async function sttySize(t: Term, want: string): Promise<void> {
  const until = Date.now() + 15_000;
  let got = '';
  while (Date.now() < until) {
    got = (await t.sh('stty size')).out;
    if (got === want) break;
    await sleep(200);
  }
  expect(got).toBe(want);
}

/** `sleep 100` in the foreground, interrupted with Ctrl-C: back at the prompt long before 100 s. */
async function ctrlC(t: Term): Promise<void> {
  t.type('echo "sleeping-$((20+1))"; sleep 100');
  await t.waitFor(/^sleeping-21\s*$/m, 'sleep to start');
  await sleep(300); // from echo to sleep running: a fork and an exec
  const at = Date.now();
  t.keys('C-c');
  // sleep ended by SIGINT: 130 (typed while it ran, read by the shell when it is back)
  t.type('echo "intr=$?"');
  await t.waitFor(/^intr=130\s*$/m, 'the shell back after Ctrl-C', 20_000);
  expect(Date.now() - at).toBeLessThan(20_000);
  expect(t.screen()).toMatch(/\^C/);
}

describe('run -it in a terminal', () => {
  it(
    'a shell: commands, stty size and resizes, Ctrl-C, job control, tty, TERM, the exit status; logs keep it',
    async () => {
      const t = term();
      await t.start(100, 30);
      const name = container('it');
      t.host(`moat run -it --name ${name} ${IMAGE} sh`, 'st');
      await t.prompt();

      expect(await t.sh('echo "typed-$((40+2))"')).toEqual({ out: 'typed-42', status: 0 });
      expect(t.size()).toBe('30 100');
      expect((await t.sh('stty size')).out).toBe('30 100');
      t.tmux(['resize-window', '-x', '120', '-y', '40']);
      expect(t.size()).toBe('40 120');
      await sttySize(t, '40 120');
      t.tmux(['resize-window', '-x', '80', '-y', '24']);
      expect(t.size()).toBe('24 80');
      await sttySize(t, '24 80');

      await ctrlC(t);

      // job control: a background job, fg, Ctrl-Z stops it
      await t.sh('sleep 100 &');
      expect((await t.sh('jobs')).out).toMatch(/^\[1\]\+\s+Running\s+sleep 100$/);
      t.type('fg');
      await t.waitFor(/^sleep 100\s*$/m, 'fg to name the job');
      await sleep(300);
      t.keys('C-z');
      await t.waitFor(/\[1\]\+\s+Stopped\s+sleep 100/, 'Ctrl-Z to stop the job');
      expect((await t.sh('jobs')).out).toMatch(/^\[1\]\+\s+Stopped\s+sleep 100$/);
      await t.sh('kill -9 %1');
      expect((await t.sh('jobs')).out).not.toMatch(/Running|Stopped/);

      expect((await t.sh('tty')).out).toBe('/dev/pts/0');
      expect((await t.sh('echo $TERM')).out).toBe('xterm');

      t.type('exit 7');
      expect(await t.status('st')).toBe(7);
      await t.sane();
      expect((await psOf(name))?.ExitCode).toBe(7);

      // what the session showed is in the container's log
      const logs = await moat(['logs', name]);
      expect(logs.code).toBe(0);
      expect(logs.stdout).toContain('typed-42');
      expect(logs.stdout).toContain('/dev/pts/0');
      expect(logs.stdout).toMatch(/40 120\r\n/);
    },
    LONG,
  );

  it(
    'detach with Ctrl-P Ctrl-Q, attach, detach again, attach again, exit: the status is the container',
    async () => {
      const t = term();
      await t.start();
      const name = container('det');
      t.host(`moat run -it --name ${name} ${IMAGE} sh`, 'st');
      await t.prompt();
      expect((await t.sh('echo "one-$((1+1))"')).out).toBe('one-2');

      t.keys('C-p', 'C-q');
      expect(await t.status('st')).toBe(0);
      expect(t.screen()).toContain(`moat: detached from ${name}: moat attach ${name} to return`);
      await t.sane();
      expect((await psOf(name))?.State).toBe('running');

      // attach from a window of another size: the terminal takes it, and follows resizes
      t.tmux(['resize-window', '-x', '120', '-y', '40']);
      t.host(`moat attach ${name}`, 'at1');
      expect(await t.sh('echo "two-$((2+2))"')).toEqual({ out: 'two-4', status: 0 });
      await sttySize(t, '40 120');
      t.tmux(['resize-window', '-x', '90', '-y', '25']);
      await sttySize(t, '25 90');
      t.keys('C-p', 'C-q');
      expect(await t.status('at1')).toBe(0);
      await t.sane();
      expect((await psOf(name))?.State).toBe('running');

      // the shell kept its state across attaches
      t.host(`moat attach ${name}`, 'at2');
      await t.sh('X=kept');
      expect((await t.sh('echo "$X-$((3+3))"')).out).toBe('kept-6');
      t.type('exit 5');
      expect(await t.status('at2')).toBe(5);
      await t.sane();
      const ps = await psOf(name);
      expect(ps).toMatchObject({ State: 'exited', ExitCode: 5 });
      expect(ps?.Status).toMatch(/^Exited \(5\) /);
      expect(t.screen()).not.toMatch(/\[[A-Z_]+\]/); // no moat error on the way
    },
    LONG,
  );

  it(
    '--detach-keys ctrl-x detaches, and Ctrl-P Ctrl-Q are then passed through',
    async () => {
      const t = term();
      await t.start();
      const name = container('dk');
      t.host(`moat run -it --detach-keys ctrl-x --name ${name} ${IMAGE} sh`, 'st');
      await t.prompt();
      await t.sh('true');
      // cat -v shows what reaches the container: ^P^Q (-ixon: Ctrl-Q is no longer the tty's START)
      // (keys typed once stty has run wait in the tty's queue for cat)
      t.type('stty -ixon; echo "ixon-$((1+1))"; cat -v');
      await t.waitFor(/^ixon-2\s*$/m, 'stty -ixon to run');
      await sleep(300);
      t.keys('C-p', 'C-q', 'Enter');
      await t.waitFor(/^\^P\^Q\s*$/m, 'cat -v to print ^P^Q');
      t.keys('C-d');
      expect((await t.sh('echo "still-$((5+5))"')).out).toBe('still-10');
      expect((await psOf(name))?.State).toBe('running');

      t.keys('C-x');
      expect(await t.status('st')).toBe(0);
      expect(t.screen()).toContain(`moat: detached from ${name}`);
      expect((await psOf(name))?.State).toBe('running');

      // attach takes --detach-keys too
      t.host(`moat attach --detach-keys ctrl-],x ${name}`, 'at');
      expect((await t.sh('echo "back-$((6+6))"')).out).toBe('back-12');
      t.keys('C-]', 'x');
      expect(await t.status('at')).toBe(0);
      expect((await psOf(name))?.State).toBe('running');
      expect((await moat(['rm', '-f', name])).code).toBe(0);
    },
    LONG,
  );

  it(
    'two clients attached at once see the same output; one detaching leaves the other attached',
    async () => {
      const name = container('two');
      const a = term();
      await a.start();
      a.host(`moat run -it --name ${name} ${IMAGE} sh`, 'st');
      await a.prompt();
      await a.sh('true');
      const b = term();
      await b.start();
      b.host(`moat attach ${name}`, 'at');
      // what b types comes back to b (so it is attached) and to a
      expect((await b.sh('echo "from-b-$((1+1))"')).out).toBe('from-b-2');
      await a.waitFor(/^from-b-2\s*$/m, "b's command on a's screen");
      expect((await a.sh('echo "from-a-$((2+3))"')).out).toBe('from-a-5');
      await b.waitFor(/^from-a-5\s*$/m, "a's command on b's screen");
      b.keys('C-p', 'C-q');
      expect(await b.status('at')).toBe(0);
      expect((await a.sh('echo "still-a-$((3+4))"')).out).toBe('still-a-7');
      expect(b.screen()).not.toContain('still-a-7');
      a.type('exit 9');
      expect(await a.status('st')).toBe(9);
    },
    LONG,
  );

  it('an invalid --detach-keys is a usage error, before anything is created', async () => {
    const name = container('badkeys');
    for (const args of [
      ['run', '-it', '--detach-keys', 'ctrl-1', '--name', name, IMAGE, 'sh'],
      ['run', '-t', '--detach-keys', 'p,,q', '--name', name, IMAGE, 'true'],
      ['exec', '-it', '--detach-keys', 'shift-a', name, 'sh'],
    ]) {
      const r = await moat(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^moat: invalid --detach-keys ".*": ".*" is not a key \[CLI_USAGE\]\nhint: /);
    }
    expect(await psOf(name)).toBeUndefined();
  });
});

describe('exec -it, exec -t', () => {
  it(
    'a shell in a detached container: stty size, resize, Ctrl-C, its exit status; exec -t without -i',
    async () => {
      const name = container('ex');
      expect((await moat(['run', '-d', '--name', name, IMAGE, 'sleep', '600'])).code).toBe(0);
      const t = term();
      await t.start(90, 25);
      t.host(`moat exec -it ${name} sh`, 'ex');
      await t.prompt();
      expect((await t.sh('stty size')).out).toBe('25 90');
      expect((await t.sh('tty')).out).toMatch(/^\/dev\/pts\/\d+$/);
      t.tmux(['resize-window', '-x', '110', '-y', '35']);
      await sttySize(t, '35 110');
      await ctrlC(t);
      t.type('exit 3');
      expect(await t.status('ex')).toBe(3);
      await t.sane();

      // detaching from exec -it leaves its command running
      t.host(`moat exec -it ${name} sh`, 'ed');
      await t.sh('sleep 777 &');
      t.keys('C-p', 'C-q');
      expect(await t.status('ed')).toBe(0);
      await t.sane();
      expect((await moat(['exec', name, 'ps'])).stdout).toMatch(/ sleep 777\n/);

      t.host(`moat exec -t ${name} ls /`, 'et');
      expect(await t.status('et')).toBe(0);
      const s = t.screen();
      const out = s.slice(s.lastIndexOf(`moat exec -t ${name} ls /`));
      expect(out).toMatch(/\bproc\b/);
      expect(out).toMatch(/\bbin\b/);
      expect((await psOf(name))?.State).toBe('running');
    },
    LONG,
  );

  it('exec -t with no terminal: its output through a pty (CRLF), its status', async () => {
    const name = container('ext');
    expect((await moat(['run', '-d', '--name', name, IMAGE, 'sleep', '600'])).code).toBe(0);
    const r = await moat(['exec', '-t', name, 'ls', '/']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\bproc\b/);
    expect(r.stdout).toMatch(/\r\n$/);
    const s = await moat(['exec', '-t', name, 'sh', '-c', 'echo one; echo two >&2; exit 4']);
    expect(s.code).toBe(4);
    expect(s.stdout).toBe('one\r\ntwo\r\n');
  });
});

describe('run -t, and -it without a terminal', () => {
  it('run -t without -i and no terminal: output with CRLF, stderr on it too, the status', async () => {
    const r = await moat(['run', '--rm', '-t', IMAGE, 'ls', '/']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\bproc\b/);
    expect(r.stdout).toMatch(/\r\n$/);
    expect(r.stdout.replace(/\r\n/g, '')).not.toContain('\n');
    const s = await moat(['run', '--rm', '-t', IMAGE, 'sh', '-c', 'echo one; echo two >&2; tty; exit 3']);
    expect(s.code).toBe(3);
    expect(s.stdout).toBe('one\r\ntwo\r\n/dev/pts/0\r\n');
    expect(s.stderr).toBe('');
  });

  it('run -it with stdin a pipe: refused, "the input device is not a TTY", nothing created', async () => {
    const name = container('notty');
    const r = await moat(['run', '-it', '--name', name, IMAGE, 'sh'], { input: 'echo hi\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^moat: the input device is not a TTY \[CLI_USAGE\]\nhint: /);
    expect(await psOf(name)).toBeUndefined();
    const e = await moat(['run', '-d', '--name', name, IMAGE, 'sleep', '600']);
    expect(e.code).toBe(0);
    const x = await moat(['exec', '-it', name, 'sh'], { input: 'echo hi\n' });
    expect(x.code).toBe(2);
    expect(x.stderr).toMatch(/the input device is not a TTY \[CLI_USAGE\]/);
  });
});

describe('start -ai, attach', () => {
  it(
    'start -ai of a container created with -it: interactive, its exit status',
    async () => {
      const name = container('sa');
      const c = await moat(['create', '-it', '--name', name, IMAGE, 'sh']);
      expect(c.code, c.stderr).toBe(0);
      const t = term();
      await t.start();
      t.host(`moat start -ai ${name}`, 'sa');
      await t.prompt();
      expect((await t.sh('stty size')).out).toBe('30 100');
      expect((await t.sh('echo "started-$((7*6))"')).out).toBe('started-42');
      t.type('exit 4');
      expect(await t.status('sa')).toBe(4);
      expect(await psOf(name)).toMatchObject({ State: 'exited', ExitCode: 4 });
      expect((await moat(['logs', name])).stdout).toContain('started-42');
    },
    LONG,
  );

  it('attach to a container that is not running: RUNTIME_INVALID_STATE, a non-zero status', async () => {
    const created = container('att-c');
    expect((await moat(['create', '-it', '--name', created, IMAGE, 'sh'])).code).toBe(0);
    const r = await moat(['attach', created]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`^moat: cannot attach to ${created}: it is not running \\[RUNTIME_INVALID_STATE\\]\\n`),
    );
    expect(r.stderr).toContain(`moat start -ai ${created}`);
    const exited = container('att-e');
    expect((await moat(['run', '--name', exited, IMAGE, 'true'])).code).toBe(0);
    const e = await moat(['attach', exited]);
    expect(e.code).not.toBe(0);
    expect(e.stderr).toMatch(/\[RUNTIME_INVALID_STATE\]/);
  });
});

describe('policy sees the terminal', () => {
  it(
    'input.facts.process.tty on container.exec and container.attach',
    async () => {
      const dir = path.join(work, uniq('policy'));
      mkdirSync(dir);
      writeFileSync(
        path.join(dir, 'authz.rego'),
        `package moat.authz
import rego.v1
deny contains "no terminals in exec" if {
  input.action == "container.exec"
  input.facts.process.tty == true
}
deny contains "no attaching to terminals" if {
  input.action == "container.attach"
  input.facts.process.tty == true
}
decision := {"allow": count(deny) == 0, "deny": deny}
`,
      );
      const penv = { ...env(), MOAT_POLICY: dir };
      const name = container('pol');
      expect((await moat(['run', '-d', '--name', name, IMAGE, 'sleep', '600'], { env: penv })).code).toBe(0);
      // exec without a terminal is allowed; with one (-t, -it) refused
      const plain = await moat(['exec', name, 'echo', 'ok'], { env: penv });
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.stdout).toBe('ok\n');
      const t1 = await moat(['exec', '-t', name, 'echo', 'ok'], { env: penv });
      expect(t1.code).toBe(3);
      expect(t1.stderr).toMatch(/no terminals in exec/);
      expect(t1.stderr).toMatch(/POLICY_DENIED/);
      const t = term({ MOAT_POLICY: dir });
      await t.start();
      t.host(`moat exec -it ${name} sh`, 'pe');
      expect(await t.status('pe')).toBe(3);
      expect(t.screen()).toMatch(/no terminals in exec/);

      // attach: refused to a container with a terminal, allowed to one without
      const tty = container('pol-t');
      expect((await moat(['run', '-d', '-t', '--name', tty, IMAGE, 'sh'], { env: penv })).code).toBe(0);
      const a1 = await moat(['attach', '--no-stdin', tty], { env: penv });
      expect(a1.code).toBe(3);
      expect(a1.stderr).toMatch(/no attaching to terminals/);
      const plainC = container('pol-p');
      const r = await moat(
        [
          'run',
          '-d',
          '--name',
          plainC,
          IMAGE,
          'sh',
          '-c',
          'i=0; while [ $i -lt 100 ]; do echo tick$i; i=$((i+1)); sleep 0.1; done; exit 6',
        ],
        { env: penv },
      );
      expect(r.code).toBe(0);
      const a2 = await moat(['attach', plainC], { env: penv });
      expect(a2.code, a2.stderr).toBe(6);
      expect(a2.stdout).toMatch(/tick\d+\n$/);
      // the default policy lets both through
      const a3 = await moat(['exec', '-t', name, 'echo', 'ok']);
      expect(a3.code).toBe(0);
    },
    LONG,
  );
});
