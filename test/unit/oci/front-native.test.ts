/**
 * native/moat-oci-front.c, moat-runtime's create without Node: against a stand-in service (a unix
 * socket answering /v1/oci/create-bundle), a stand-in runc that records what it was given, and a
 * stand-in node that records a hand-off. The fast path is taken only for what it fully
 * understands (anything else goes to the Node program, the strict one); once oci.json names a
 * service, a service that is down or answers badly fails the create (fail closed). Compiled here
 * with the build's flags (needs gcc, as the build does).
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../../..');
const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'moat-oci-native-')));
const FRONT = path.join(dir, 'moat-oci-front');
execFileSync(process.env.CC || 'gcc', [
  '-static',
  '-O2',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-o',
  FRONT,
  path.join(repo, 'native/moat-oci-front.c'),
]);
const ENTRY = path.join(repo, 'bin/moat-runtime.js');
const fake = path.join(dir, 'fake-runc');
writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "nested=$MOAT_RUNTIME_NESTED" "$@" > "${dir}/args"\nexit 7\n`);
chmodSync(fake, 0o755);
const bin = path.join(dir, 'bin');
mkdirSync(bin);
writeFileSync(path.join(bin, 'node'), `#!/bin/sh\nprintf '%s\\n' node "$@" > "${dir}/node"\nexit 126\n`);
chmodSync(path.join(bin, 'node'), 0o755);

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

interface Seen {
  path: string;
  body: Record<string, unknown>;
}
const seen: Seen[] = [];

/** A service on a unix socket; `answer` gives the status and raw body for a request. */
async function serve(name: string, answer: (s: Seen) => [number, string]): Promise<string> {
  const socket = path.join(dir, name);
  const s = createServer((req, res) => {
    let text = '';
    req.on('data', (b: Buffer) => (text += b.toString()));
    req.on('end', () => {
      const got = { path: req.url ?? '', body: JSON.parse(text) as Record<string, unknown> };
      seen.push(got);
      const [status, body] = answer(got);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(socket, r));
  return socket;
}

const bundle = path.join(dir, 'bundle');
mkdirSync(bundle);
const dirOf = path.join(bundle, '.moat-runtime');
const good = (s: Seen): [number, string] => [
  200,
  JSON.stringify({
    dir: s.body.bundle + '/.moat-runtime',
    applied: true,
    mode: 'enforce',
    changes: [],
    log: `log-line ${String(s.body.logFormat)} \u00e9\n`,
    decisions: '{"msg":"moat: oci.create allowed"}\n',
  }),
];
let okSock = '';
const cfg = path.join(dir, 'oci.json');
const log = path.join(dir, 'runc.log');
const decisions = path.join(dir, 'decisions.log');

beforeEach(async () => {
  if (!okSock) okSock = await serve('ok.sock', good);
  seen.length = 0;
  for (const f of ['args', 'node', 'runc.log', 'decisions.log']) rmSync(path.join(dir, f), { force: true });
  writeFileSync(cfg, JSON.stringify({ service: okSock }));
});

const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : null);

function front(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stderr: string; args: string[] | null; node: string[] | null }>(
    (resolve) => {
      const p = spawn(FRONT, [ENTRY, ...args], {
        env: { PATH: bin, MOAT_RUNTIME: fake, MOAT_OCI_CONFIG: cfg, MOAT_OCI_LOG: decisions, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      p.on('close', (code) =>
        resolve({ code, stderr, args: lines(path.join(dir, 'args')), node: lines(path.join(dir, 'node')) }),
      );
    },
  );
}

const CREATE = ['create', '--bundle', bundle, '--pid-file', '/p', 'c1'];

describe('moat-oci-front', () => {
  it('asks the service, appends its lines to the logs and execs runc with the caller’s flags and moat’s bundle', async () => {
    writeFileSync(
      cfg,
      '{ "mode": "audit",\n "capabilities": ["CHOWN", "CAP_KILL"], "pidsLimit": 100, "service": ' +
        JSON.stringify(okSock) +
        ' }\n',
    );
    const r = await front([
      '--root',
      '/r',
      '-log',
      log,
      '--log-format=json',
      '--debug',
      'create',
      '-b',
      bundle,
      '--console-socket=/s',
      'c1',
      '--no-pivot',
      '--preserve-fds',
      '2',
    ]);
    expect(r).toEqual({
      code: 7,
      stderr: '',
      node: null,
      args: [
        'nested=1',
        '--root=/r',
        `--log=${log}`,
        '--log-format=json',
        '--debug',
        'create',
        '--console-socket=/s',
        '--no-pivot',
        '--preserve-fds=2',
        `--bundle=${dirOf}`,
        'c1',
      ],
    });
    expect(seen).toEqual([
      {
        path: '/v1/oci/create-bundle',
        body: {
          id: 'c1',
          bundle,
          logFormat: 'json',
          mode: 'audit',
          capabilities: ['CAP_CHOWN', 'CAP_KILL'],
          pidsLimit: 100,
        },
      },
    ]);
    expect(lines(log)).toEqual(['log-line json \u00e9']);
    expect(lines(decisions)).toEqual(['{"msg":"moat: oci.create allowed"}']);
  });

  it('sends a relative bundle as its real path, and no settings the config does not give', async () => {
    symlinkSync(bundle, path.join(dir, 'link'));
    const p = spawn(FRONT, [ENTRY, 'create', '--bundle=link', 'c2'], {
      cwd: dir,
      env: { PATH: bin, MOAT_RUNTIME: fake, MOAT_OCI_CONFIG: cfg },
      stdio: 'ignore',
    });
    expect(await new Promise((r) => p.on('close', r))).toBe(7);
    expect(seen.map((s) => s.body)).toEqual([{ id: 'c2', bundle, logFormat: 'text' }]);
    expect(lines(path.join(dir, 'args'))).toEqual(['nested=1', 'create', `--bundle=${dirOf}`, 'c2']);
  });

  it('finds oci.json as config.ts does: $XDG_CONFIG_HOME/moat, else $HOME/.config/moat', async () => {
    const xdg = path.join(dir, 'xdg');
    mkdirSync(path.join(xdg, 'moat'), { recursive: true });
    writeFileSync(path.join(xdg, 'moat/oci.json'), JSON.stringify({ service: okSock }));
    expect((await front(CREATE, { MOAT_OCI_CONFIG: '', XDG_CONFIG_HOME: xdg })).code).toBe(7);
    const home = path.join(dir, 'home');
    mkdirSync(path.join(home, '.config/moat'), { recursive: true });
    writeFileSync(path.join(home, '.config/moat/oci.json'), JSON.stringify({ service: okSock }));
    expect((await front(CREATE, { MOAT_OCI_CONFIG: '', XDG_CONFIG_HOME: 'relative', HOME: home })).code).toBe(
      7,
    );
    expect(seen.length).toBe(2);
  });

  it('hands to the Node program whatever it does not fully understand', async () => {
    const handedOff = async (args: string[], config?: string, env: Record<string, string> = {}) => {
      if (config !== undefined) writeFileSync(cfg, config);
      const r = await front(args, env);
      expect(r, `${args.join(' ')} ${config ?? ''}`).toEqual({
        code: 126,
        stderr: '',
        args: null,
        node: ['node', ENTRY, ...args],
      });
    };
    const svc = JSON.stringify(okSock);
    // Configurations: none, no service, not this parser's subset, or invalid (Node says so).
    await handedOff(CREATE, undefined, { MOAT_OCI_CONFIG: path.join(dir, 'none.json') });
    await handedOff(CREATE, '{}');
    await handedOff(CREATE, '{"mode": "enforce"}');
    await handedOff(CREATE, `{"service": ${svc.replace(/\//g, '\\/')}}`);
    await handedOff(CREATE, `{"service": ${svc}, "extra": 1}`);
    await handedOff(CREATE, `{"service": ${svc}, "service": ${svc}}`);
    await handedOff(CREATE, `{"service": ${svc}, "mode": "strict"}`);
    await handedOff(CREATE, `{"service": ${svc}, "pidsLimit": 1e3}`);
    await handedOff(CREATE, `{"service": ${svc}, "pidsLimit": -1}`);
    await handedOff(CREATE, `{"service": ${svc}, "capabilities": ["cap_chown"]}`);
    await handedOff(CREATE, `{"service": ${svc},}`);
    await handedOff(CREATE, `{"service": ${svc}} x`);
    await handedOff(CREATE, `\ufeff{"service": ${svc}}`);
    await handedOff(CREATE, `{"service": "relative.sock"}`);
    await handedOff(CREATE, `{"service": "/${'x'.repeat(120)}"}`);
    await handedOff(CREATE, ' '.repeat(64 << 10) + `{"service": ${svc}}`);
    // Command lines: other commands, moat's own flags, unknown or odd flags, IDs runc refuses.
    writeFileSync(cfg, `{"service": ${svc}}`);
    await handedOff(['run', '--bundle', bundle, 'c1']);
    await handedOff(['--runtime-binary', fake, ...CREATE]);
    await handedOff(['--version']);
    await handedOff(['--debug=true', ...CREATE]);
    await handedOff(['--log-format', 'xml', ...CREATE]);
    await handedOff(['--systemd-cgroup', ...CREATE]);
    await handedOff(['--root', '/a', '--root', '/b', ...CREATE]);
    await handedOff([...CREATE, '--keep']);
    await handedOff([...CREATE, '--no-pivot=true']);
    await handedOff([...CREATE, 'c2']);
    await handedOff(['create', '--bundle', bundle, '../c1']);
    await handedOff(['create', '--bundle', bundle, '--', 'c1']);
    await handedOff(['create', '--bundle', bundle, '--pid-file']);
    await handedOff(['create', '--bundle', path.join(dir, 'no-such-bundle'), 'c1']);
    await handedOff(CREATE, undefined, { MOAT_RUNTIME_NESTED: '1' });
    expect(seen).toEqual([]);
  });

  it('fails closed when the service is down: runc’s log format, no runc, no Node', async () => {
    const down = path.join(dir, 'down.sock');
    writeFileSync(cfg, JSON.stringify({ service: down }));
    const r = await front(['--log', log, '--log-format', 'json', ...CREATE]);
    const msg = `moat-runtime: moat service at ${down}: connect: No such file or directory`;
    expect(r).toEqual({ code: 1, stderr: `${msg}\n`, args: null, node: null });
    const line = JSON.parse(lines(log)![0]) as Record<string, string>;
    expect(line).toEqual({
      level: 'error',
      msg,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(lines(decisions)).toBeNull();
  });

  it('a denial: the service’s reason on stderr and as the last error line of --log (text format)', async () => {
    const sock = await serve('deny.sock', () => [
      403,
      JSON.stringify({
        code: 'POLICY_DENIED',
        message: 'oci.create denied by rego: capability "SYS_ADMIN"\n',
        hint: 'h',
      }),
    ]);
    writeFileSync(cfg, JSON.stringify({ service: sock }));
    const r = await front(['--log', log, ...CREATE]);
    expect(r).toEqual({
      code: 1,
      stderr: 'moat-runtime: oci.create denied by rego: capability "SYS_ADMIN"?\n',
      args: null,
      node: null,
    });
    expect(lines(log)![0]).toMatch(
      /^time="[^"]+" level=error msg="moat-runtime: oci.create denied by rego: capability \\"SYS_ADMIN\\"\\n"$/,
    );
  });

  it('fails closed on an answer it cannot trust: not JSON, the wrong shape, another directory, too large', async () => {
    const cases: [string, (s: Seen) => [number, string], RegExp][] = [
      ['junk.sock', () => [200, 'hello'], /answered with a result that is not an oci\.create result$/],
      ['shape.sock', () => [200, JSON.stringify({ allow: true })], /not an oci\.create result$/],
      ['err.sock', () => [500, 'not json'], /answered 500$/],
      [
        'other.sock',
        (s) => {
          const [c, b] = good(s);
          return [c, b.replace('/.moat-runtime', '/elsewhere')];
        },
        /wrote another bundle directory than /,
      ],
      [
        'nul.sock',
        (s) => {
          const [c, b] = good(s);
          return [c, b.replace('/.moat-runtime', '/.moat-runtime\\u0000/x')];
        },
        /not an oci\.create result$/,
      ],
      [
        'deep.sock',
        () => [200, `{"dir":${'['.repeat(100)}${']'.repeat(100)}}`],
        /not an oci\.create result$/,
      ],
      [
        'big.sock',
        () => [200, JSON.stringify({ dir: 'x', log: 'x'.repeat(2 << 20) })],
        /answer larger than 1048576 bytes$/,
      ],
    ];
    for (const [name, answer, want] of cases) {
      const sock = await serve(name, answer);
      writeFileSync(cfg, JSON.stringify({ service: sock }));
      const r = await front(CREATE);
      expect(r.code, name).toBe(1);
      expect(r.args, name).toBeNull();
      expect(r.node, name).toBeNull();
      expect(r.stderr.trim(), name).toMatch(want);
    }
  });

  it('a runtime that cannot be started: the error, and the directory the service wrote removed', async () => {
    const sock = await serve('writes.sock', (s) => {
      mkdirSync(dirOf, { recursive: true });
      writeFileSync(path.join(dirOf, 'config.json'), '{}');
      return good(s);
    });
    writeFileSync(cfg, JSON.stringify({ service: sock }));
    const r = await front(CREATE, { MOAT_RUNTIME: path.join(dir, 'no-such-runc') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `moat-runtime: cannot run the OCI runtime ${dir}/no-such-runc: No such file or directory`,
    );
    expect(existsSync(dirOf)).toBe(false);
  });
});
