/**
 * The docker CLI's interactive verbs against `moat system service` (non-root, real runc):
 * run -it / -i / -t, attach, start -ai, exec -it / -i, terminal resizes and docker's detach keys.
 * A terminal is driven with tmux (a private server per test, a 100x30 window); the screen is
 * polled, never waited for by fixed sleeps.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { docker, dockerSh, http, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');
if (!have('tmux')) throw new Error('tmux is needed to drive a terminal in these tests');

let w: World;
let svc: Service;

beforeAll(async () => {
  w = mainWorld('api-interactive');
  svc = await startService(w, {}, 'api-tty.sock');
});
afterAll(async () => {
  if (svc) await stopService(svc);
});

/** A terminal: a private tmux server running bash, with DOCKER_HOST set to `s`. */
class Terminal {
  private readonly socket = uniq('moat-tty');
  private seen = 0;

  constructor(s: Service) {
    const env: NodeJS.ProcessEnv = { ...w.env, DOCKER_HOST: `unix://${s.socket}`, TERM: 'xterm', PS1: '$ ' };
    delete env.TMUX;
    this.tmux(['-f', '/dev/null', 'new-session', '-d', '-x', '100', '-y', '30', 'bash --norc'], env);
  }

  private tmux(args: string[], env: NodeJS.ProcessEnv = w.env): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { env, encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tmux ${args[0]}: ${r.stderr}`);
    return r.stdout;
  }

  /** Types a line and Enter. */
  line(text: string): void {
    this.tmux(['send-keys', '-l', text]);
    this.tmux(['send-keys', 'Enter']);
  }

  /** Sends keys by tmux's names (C-c, C-p). */
  keys(...names: string[]): void {
    this.tmux(['send-keys', ...names]);
  }

  /**
   * The scrollback and the screen down to its last line written, wrapped lines joined, without
   * trailing spaces: what was written stays where it was as more comes.
   */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-S', '-'])
      .replace(/[ \t]+$/gm, '')
      .replace(/\n+$/, '\n');
  }

  /**
   * Waits until `re` matches the screen after what earlier waits consumed; returns the match.
   * The match's end is consumed, so the next wait looks at later output only.
   */
  async waitFor(re: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const text = this.screen();
      const m = re.exec(text.slice(this.seen));
      if (m) {
        this.seen += m.index + m[0].length;
        return m;
      }
      if (Date.now() > end) throw new Error(`timed out waiting for ${re} on the screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Resizes the window, then asks the shell for its terminal's size until it has the new one
   * (the resize reaches it through the docker CLI, the service and moat-tty, a little later).
   */
  async resizeTo(cols: number, rows: number): Promise<void> {
    this.tmux(['resize-window', '-x', String(cols), '-y', String(rows)]);
    const want = new RegExp(`^${rows} ${cols}$`, 'm');
    for (let i = 0; ; i++) {
      this.line('stty size');
      try {
        await this.waitFor(want, 1000);
        return;
      } catch (e) {
        if (i === 10) throw e;
      }
    }
  }

  /** Ends the tmux server (and the shell and docker CLI in it), and removes its socket. */
  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { env: w.env, timeout: 10_000 });
    const dir = path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`);
    rmSync(path.join(dir, this.socket), { force: true });
  }
}

const terminals: Terminal[] = [];
const containers: string[] = [];
const terminal = (s = svc) => {
  const t = new Terminal(s);
  terminals.push(t);
  return t;
};
const named = (prefix: string) => {
  const n = uniq(prefix);
  containers.push(n);
  return n;
};
afterEach(() => {
  for (const t of terminals.splice(0)) t.kill();
  if (containers.length) docker(svc, w, ['rm', '-f', ...containers.splice(0)]);
});

/** The prompt of busybox sh with a terminal, nothing typed after it. */
const PROMPT = /^\/ #$/m;

describe('docker run -it, -i, -t', () => {
  it('run -it: a terminal of the window size, resized with it, Ctrl-C to its process, the exit status', async () => {
    const t = terminal();
    const name = named('api-it');
    t.line(`docker run -it --name ${name} ${IMAGE} sh; echo "run=$?"`);
    await t.waitFor(PROMPT);
    t.line('tty; stty size');
    await t.waitFor(/^\/dev\/pts\/\d+\s+^30 100$/m);
    await t.resizeTo(120, 40);
    t.line('sleep 50; echo slept');
    await t.waitFor(/sleep 50; echo slept/);
    t.keys('C-c');
    // The sleep was interrupted (the shell is back well before 50 s); the shell lives on.
    await t.waitFor(PROMPT, 15_000);
    expect(t.screen()).not.toMatch(/^slept$/m);
    t.line('exit 7');
    expect((await t.waitFor(/^run=(\d+)$/m))[1]).toBe('7');
    expect(
      docker(svc, w, ['inspect', name, '--format', '{{.State.ExitCode}} {{.Config.Tty}}']).stdout.trim(),
    ).toBe('7 true');
  });

  it('run -i: stdin until the client closes it (StdinOnce), output on its streams, the exit status', () => {
    const hi = dockerSh(svc, w, `echo hi | docker run -i --rm ${IMAGE} cat`);
    expect(hi.stdout).toBe('hi\n');
    expect(hi.code, hi.stderr).toBe(0);
    const many = dockerSh(svc, w, `seq 1 100000 | docker run -i --rm ${IMAGE} wc -l`);
    expect(many.stdout.trim()).toBe('100000');
    const split = dockerSh(
      svc,
      w,
      `printf 'a\\nb\\n' | docker run -i --rm ${IMAGE} sh -c 'cat; echo err >&2; exit 4'`,
    );
    expect(split.stdout).toBe('a\nb\n');
    expect(split.stderr).toBe('err\n');
    expect(split.code).toBe(4);
    // A command that is not there: docker's status and runc's reason, nothing left running.
    const none = dockerSh(svc, w, `docker run -i --rm ${IMAGE} no-such-command </dev/null`);
    expect(none.code).toBe(127);
    expect(none.stderr).toMatch(/no-such-command.*executable file not found/);
  });

  it('run -t: one raw stream (no multiplexing), as a terminal writes it', () => {
    const r = docker(svc, w, ['run', '-t', '--rm', IMAGE, 'sh', '-c', 'echo out; echo err >&2; exit 2']);
    expect(r.stdout).toBe('out\r\nerr\r\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
  });
});

describe('docker attach, detach keys, start -ai', () => {
  it('attach to run -dit; Ctrl-P Ctrl-Q detaches, the container runs on; attach again and exit', async () => {
    const name = named('api-attach');
    const run = docker(svc, w, ['run', '-dit', '--name', name, IMAGE, 'sh']);
    expect(run.code, run.stderr).toBe(0);
    const t = terminal();
    t.line(`docker attach ${name}; echo "attach=$?"`);
    // Attaching resizes the terminal (docker's way to have the shell redraw its prompt).
    await t.waitFor(PROMPT);
    t.line('echo one');
    await t.waitFor(/^one$/m);
    t.keys('C-p', 'C-q');
    // docker attach says so and exits 1 on detaching (the CLI's own behaviour).
    await t.waitFor(/read escape sequence/);
    expect((await t.waitFor(/^attach=(\d+)$/m))[1]).toBe('1');
    expect(docker(svc, w, ['inspect', name, '--format', '{{.State.Status}}']).stdout.trim()).toBe('running');
    t.line(`docker attach ${name}; echo "again=$?"`);
    await t.waitFor(PROMPT);
    t.line('echo two');
    await t.waitFor(/^two$/m);
    t.line('exit 5');
    expect((await t.waitFor(/^again=(\d+)$/m))[1]).toBe('5');
  });

  it('run -it detached with Ctrl-P Ctrl-Q exits 0 and leaves the container running', async () => {
    const name = named('api-detach');
    const t = terminal();
    t.line(`docker run -it --name ${name} ${IMAGE} sh; echo "run=$?"`);
    await t.waitFor(PROMPT);
    t.line('echo one');
    await t.waitFor(/^one$/m);
    t.keys('C-p', 'C-q');
    expect((await t.waitFor(/run=(\d+)$/m))[1]).toBe('0');
    expect(docker(svc, w, ['inspect', name, '--format', '{{.State.Status}}']).stdout.trim()).toBe('running');
    // The service noticed the client leaving: attaching again works, and gets the exit status.
    t.line(`docker attach ${name}; echo "attach=$?"`);
    await t.waitFor(PROMPT);
    t.line('echo two');
    await t.waitFor(/^two$/m);
    t.line('exit 9');
    expect((await t.waitFor(/^attach=(\d+)$/m))[1]).toBe('9');
  });

  it('start -ai: a created container started attached, as often as it is started', async () => {
    const name = named('api-start');
    const c = docker(svc, w, ['create', '-it', '--name', name, IMAGE, 'sh']);
    expect(c.code, c.stderr).toBe(0);
    const t = terminal();
    t.line(`docker start -ai ${name}; echo "start=$?"`);
    await t.waitFor(PROMPT);
    t.line('echo three; stty size');
    await t.waitFor(/^three\s+^30 100$/m);
    t.line('exit 6');
    expect((await t.waitFor(/^start=(\d+)$/m))[1]).toBe('6');
    t.line(`docker start -ai ${name}; echo "again=$?"`);
    await t.waitFor(PROMPT);
    t.line('exit 8');
    expect((await t.waitFor(/^again=(\d+)$/m))[1]).toBe('8');
  });
});

describe('docker exec -it, -i', () => {
  it('exec -i: stdin until the client closes it; exec -it: a terminal, resized, Ctrl-C, the exit status', async () => {
    const name = named('api-exec');
    expect(docker(svc, w, ['run', '-d', '--name', name, IMAGE, 'sleep', '300']).code).toBe(0);
    const x = dockerSh(svc, w, `echo x | docker exec -i ${name} cat`);
    expect(x.stdout).toBe('x\n');
    expect(x.code, x.stderr).toBe(0);
    const many = dockerSh(svc, w, `seq 1 100000 | docker exec -i ${name} wc -l`);
    expect(many.stdout.trim()).toBe('100000');
    const t = terminal();
    t.line(`docker exec -it ${name} sh; echo "exec=$?"`);
    await t.waitFor(PROMPT);
    t.line('tty; stty size');
    await t.waitFor(/^\/dev\/pts\/\d+\s+^30 100$/m);
    await t.resizeTo(110, 35);
    t.line('sleep 50; echo slept');
    await t.waitFor(/sleep 50; echo slept/);
    t.keys('C-c');
    await t.waitFor(PROMPT, 15_000);
    t.line('exit 3');
    expect((await t.waitFor(/^exec=(\d+)$/m))[1]).toBe('3');
    // exec -t without a terminal on the client's side: raw output, the status.
    const raw = docker(svc, w, ['exec', '-t', name, 'sh', '-c', 'echo hi; exit 4']);
    expect(raw.stdout).toBe('hi\r\n');
    expect(raw.code).toBe(4);
  });

  it('GET /exec/{id}/json: Running, Pid and ProcessConfig.tty of a detached exec with a terminal', async () => {
    const name = named('api-exec-json');
    expect(docker(svc, w, ['run', '-d', '--name', name, IMAGE, 'sleep', '300']).code).toBe(0);
    const create = await http(
      svc,
      'POST',
      `/containers/${name}/exec`,
      JSON.stringify({ Cmd: ['sleep', '3'], Tty: true, AttachStdout: true }),
    );
    expect(create.status, create.body).toBe(201);
    const id = (JSON.parse(create.body) as { Id: string }).Id;
    const start = await http(svc, 'POST', `/exec/${id}/start`, JSON.stringify({ Detach: true, Tty: true }));
    expect(start.status, start.body).toBe(200);
    let info: { Running: boolean; Pid: number; ExitCode: number | null; ProcessConfig: { tty: boolean } };
    const end = Date.now() + 10_000;
    do {
      info = JSON.parse((await http(svc, 'GET', `/exec/${id}/json`)).body) as typeof info;
    } while (!info.Pid && Date.now() < end && (await new Promise((r) => setTimeout(r, 100))) === undefined);
    expect(info).toMatchObject({ Running: true, ExitCode: null, ProcessConfig: { tty: true } });
    expect(info.Pid).toBeGreaterThan(1);
    // Resizing its terminal is the creator's to do; a size must be given.
    expect((await http(svc, 'POST', `/exec/${id}/resize?h=20&w=60`)).status).toBe(200);
    expect((await http(svc, 'POST', `/exec/${id}/resize?h=0&w=60`)).status).toBe(400);
    const later = Date.now() + 15_000;
    do {
      info = JSON.parse((await http(svc, 'GET', `/exec/${id}/json`)).body) as typeof info;
    } while (
      info.Running &&
      Date.now() < later &&
      (await new Promise((r) => setTimeout(r, 200))) === undefined
    );
    expect(info).toMatchObject({ Running: false, ExitCode: 0 });
  });
});

describe('every console is decided by the policy', () => {
  it('container.attach and container.exec see the terminal (facts.process.tty)', async () => {
    const dir = path.join(w.env.HOME!, uniq('tty-policy'));
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'authz.rego'),
      `package moat.authz
import rego.v1
deny contains "no terminals over the API" if {
  input.action in {"container.attach", "container.exec"}
  input.facts.process.tty
  input.subject.via == "api"
}
decision := {"allow": count(deny) == 0, "deny": deny}
`,
    );
    const s = await startService(w, { MOAT_POLICY: dir }, 'api-tty-policy.sock');
    const name = uniq('api-tty-denied');
    const bg = uniq('api-tty-bg');
    try {
      // The attach is refused before the start: the container stays created. (The docker CLI
      // prints only the status of a refused upgrade; the reason is in the service's log.)
      const run = docker(s, w, ['run', '-t', '--name', name, IMAGE, 'true']);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/received 403/);
      // (spawnSync held this process: the service's stderr is read once the loop runs again)
      const denialLine = () =>
        s
          .log()
          .split('\n')
          .find((l) => l.includes('"container.attach"') && l.includes('no terminals over the API'));
      let denial = denialLine();
      for (let i = 0; i < 50 && !denial; i++) {
        await new Promise((r) => setTimeout(r, 100));
        denial = denialLine();
      }
      expect(denial, s.log()).toBeDefined();
      expect(JSON.parse(denial!)).toMatchObject({ level: 40, msg: 'denied' });
      expect(docker(s, w, ['inspect', name, '--format', '{{.State.Status}}']).stdout.trim()).toBe('created');
      // Without a terminal the same policy lets stdin through.
      expect(dockerSh(s, w, `echo hi | docker run -i --rm ${IMAGE} cat`).stdout).toBe('hi\n');
      expect(docker(s, w, ['run', '-d', '--name', bg, IMAGE, 'sleep', '300']).code).toBe(0);
      const ex = docker(s, w, ['exec', '-t', bg, 'true']);
      expect(ex.code).not.toBe(0);
      expect(ex.stderr).toMatch(/container.exec denied by .*no terminals over the API/);
      expect(dockerSh(s, w, `echo x | docker exec -i ${bg} cat`).stdout).toBe('x\n');
    } finally {
      // (A service stops once the containers it started have ended.)
      docker(s, w, ['rm', '-f', name, bg]);
      await stopService(s);
    }
  });
});
