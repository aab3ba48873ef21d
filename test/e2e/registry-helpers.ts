/**
 * Real registries for the e2e tests: Debian's `docker-registry` on 127.0.0.1 (a free port),
 * plain, with htpasswd basic auth, with TLS from a CA made here (test/helpers/pki.ts), or with token
 * auth against a small token server (below). Plus a moat runner with its own store and config
 * directories, and OCI layout writers for skopeo.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, createSign, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, promises as fsp, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { inject } from 'vitest';
import { makePki, selfSigned } from '../helpers/pki.js';
import { bin, moat, type Result } from './moat.js';

export const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The Debian package that provides each tool the registry suites run. */
const PACKAGE: Record<string, string> = {
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  htpasswd: 'apache2-utils',
  script: 'bsdutils',
};

/**
 * Throw (failing the suite, as the API suites do without the docker CLI) unless every tool is
 * on PATH: CI installs them (.ci/run), so a missing tool is a broken machine, never a skip.
 */
export function needTools(...cmds: string[]): void {
  const missing = cmds.filter((c) => !have(c));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((c) => PACKAGE[c] ?? c))].join(' ');
  throw new Error(
    `these tests need ${missing.join(', ')} on PATH (apt-get install ${pkgs}; .ci/run installs them)`,
  );
}

export interface Registry {
  host: string;
  dir: string;
  /** PEM of the CA that signed the server certificate (TLS registries). */
  caPem?: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A CA and a server certificate for 127.0.0.1 signed by it. */
export function makeTlsFiles(dir: string): { caPem: string; certFile: string; keyFile: string } {
  const p = makePki();
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  writeFileSync(certFile, p.server.cert);
  writeFileSync(keyFile, p.server.key, { mode: 0o600 });
  return { caPem: p.caPem, certFile, keyFile };
}

export async function startRegistry(
  opts: { auth?: { user: string; pass: string }; tls?: boolean; token?: TokenServer } = {},
): Promise<Registry> {
  const dir = mkdtempSync(path.join(inject('moatEnv').base, 'registry-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log: { level: error, accesslog: { disabled: true } }',
    `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
  ];
  let http = `http: { addr: "127.0.0.1:${port}"`;
  let caPem: string | undefined;
  if (opts.tls) {
    const t = makeTlsFiles(dir);
    caPem = t.caPem;
    http += `, tls: { certificate: ${t.certFile}, key: ${t.keyFile} }`;
  }
  lines.push(http + ' }');
  if (opts.auth) {
    const r = spawnSync('htpasswd', ['-Bbn', opts.auth.user, opts.auth.pass], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    writeFileSync(path.join(dir, 'htpasswd'), r.stdout);
    lines.push(`auth: { htpasswd: { realm: moat-test, path: ${dir}/htpasswd } }`);
  }
  if (opts.token) {
    const t = opts.token;
    lines.push(
      `auth: { token: { realm: "${t.realm}", service: "${t.service}", issuer: "${t.issuer}", rootcertbundle: ${t.rootCertFile} } }`,
    );
  }
  writeFileSync(path.join(dir, 'config.yml'), lines.join('\n') + '\n');
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    dir,
    caPem,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}

/** One request the token server answered. */
export interface TokenRequest {
  method: string;
  /** The authenticated user; undefined for an anonymous request. */
  user?: string;
  /** `scope` values as asked (`repository:NAME:ACTIONS`). */
  scopes: string[];
  /** What the issued token grants (empty when refused). */
  granted: { type: string; name: string; actions: string[] }[];
  status: number;
}

export interface TokenUser {
  password: string;
  /** Accepted as an OAuth2 refresh token (an "identity token"). */
  refreshToken?: string;
  /** Actions this user may have on a repository; default pull and push everywhere. */
  allow?: (repository: string) => string[];
}

/**
 * A token service for distribution's `auth: token` (docs/spec/auth/token.md, jwt.md):
 * `GET /token?service=&scope=...` with optional basic credentials, and the OAuth2 form
 * `POST /token` (grant_type=password or refresh_token). Tokens are RS256 JWTs whose header
 * carries the signing certificate in `x5c`; that self-signed certificate is the registry's
 * `rootcertbundle`. Claims as distribution 2.8 checks them: `iss` = issuer, `aud` = service,
 * `nbf`/`exp` (60 s leeway there), `access` = the granted subset of the asked scopes.
 * Anonymous requests get a token with no access (as Docker Hub does for private repositories);
 * a wrong password is 401.
 */
export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  rootCertFile: string;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

export async function startTokenServer(
  dir: string,
  users: Record<string, TokenUser>,
  opts: { ttlSeconds?: number } = {},
): Promise<TokenServer> {
  const service = 'moat-test-registry';
  const issuer = 'moat-test-token-issuer';
  const ttl = opts.ttlSeconds ?? 300;
  const signer = selfSigned('moat test token signer', [
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
  ]);
  const privateKey = createPrivateKey(signer.key);
  const rootCertFile = path.join(dir, 'token-signer.crt');
  writeFileSync(rootCertFile, signer.cert);
  const x5c = new X509Certificate(signer.cert).raw.toString('base64');
  const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

  const sign = (user: string | undefined, granted: TokenRequest['granted']): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [x5c] }));
    const claims = b64url(
      JSON.stringify({
        iss: issuer,
        sub: user ?? '',
        aud: service,
        exp: now + ttl,
        nbf: now - 5,
        iat: now,
        jti: randomBytes(12).toString('hex'),
        access: granted,
      }),
    );
    const sig = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(privateKey);
    return `${header}.${claims}.${b64url(sig)}`;
  };

  const grant = (user: string | undefined, scopes: string[]): TokenRequest['granted'] => {
    const out: TokenRequest['granted'] = [];
    for (const s of scopes.flatMap((x) => x.split(' ')).filter(Boolean)) {
      const m = /^([a-z]+):(.+):([a-z*,]*)$/.exec(s);
      if (!m || m[1] !== 'repository') continue;
      const allowed = user ? (users[user].allow?.(m[2]) ?? ['pull', 'push']) : [];
      const actions = m[3].split(',').filter((a) => allowed.includes(a));
      if (actions.length) out.push({ type: m[1], name: m[2], actions });
    }
    return out;
  };

  const requests: TokenRequest[] = [];
  const reply = (res: ServerResponse, status: number, body: unknown) =>
    void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/token') return reply(res, 404, { error: 'not found' });
    const entry: TokenRequest = { method: req.method ?? '', scopes: [], granted: [], status: 0 };
    requests.push(entry);
    const refuse = (status: number, error: string) => {
      entry.status = status;
      reply(res, status, { error, details: error });
    };
    let user: string | undefined;
    let form: URLSearchParams | undefined;
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (form.get('service') !== service) return refuse(400, 'unknown service');
      entry.scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      const gt = form.get('grant_type');
      if (gt === 'password') {
        const u = form.get('username') ?? '';
        if (users[u]?.password !== form.get('password')) return refuse(401, 'invalid credentials');
        user = u;
      } else if (gt === 'refresh_token') {
        const rt = form.get('refresh_token');
        user = Object.keys(users).find((u) => rt && users[u].refreshToken === rt);
        if (!user) return refuse(401, 'invalid refresh token');
      } else return refuse(400, 'unsupported grant_type');
    } else if (req.method === 'GET') {
      if (url.searchParams.get('service') !== service) return refuse(400, 'unknown service');
      entry.scopes = url.searchParams.getAll('scope');
      const auth = req.headers.authorization;
      if (auth) {
        const m = /^Basic (.+)$/i.exec(auth);
        const text = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
        const colon = text.indexOf(':');
        const u = text.slice(0, colon);
        if (colon <= 0 || users[u]?.password !== text.slice(colon + 1))
          return refuse(401, 'invalid credentials');
        user = u;
      }
    } else return refuse(405, 'method not allowed');
    entry.user = user;
    entry.granted = grant(user, entry.scopes);
    entry.status = 200;
    const token = sign(user, entry.granted);
    const issuedAt = new Date().toISOString();
    if (form) reply(res, 200, { access_token: token, expires_in: ttl, issued_at: issuedAt });
    else reply(res, 200, { token, access_token: token, expires_in: ttl, issued_at: issuedAt });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => reply(res, 500, { error: String(e) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertFile,
    requests,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A private moat world: its own store, runtime and config directories. */
export interface World {
  env: NodeJS.ProcessEnv;
  configDir: string;
  moat(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Result>;
  spawn(args: string[]): ChildProcess;
}

export function world(name: string): World {
  const base = mkdtempSync(path.join(inject('moatEnv').base, `w-${name}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_DATA_HOME: path.join(base, 'data'),
    XDG_RUNTIME_DIR: path.join(base, 'run'),
    XDG_CONFIG_HOME: path.join(base, 'config'),
    HOME: base,
    DOCKER_CONFIG: path.join(base, 'docker'),
  };
  for (const d of [env.XDG_DATA_HOME!, env.XDG_RUNTIME_DIR!]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const configDir = path.join(env.XDG_CONFIG_HOME!, 'moat');
  mkdirSync(configDir, { recursive: true });
  const run = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) =>
    moat(args, { ...opts, env });
  return {
    env,
    configDir,
    moat: run,
    spawn: (args) => spawn(process.execPath, [bin(), ...args], { env, stdio: 'ignore' }),
  };
}

/** A world on the e2e suite's own store (it holds moat/busybox), with private config directories. */
export function mainWorld(name = 'main'): World {
  const e = inject('moatEnv');
  const w = world(name);
  w.env.XDG_DATA_HOME = e.XDG_DATA_HOME;
  w.env.XDG_RUNTIME_DIR = e.XDG_RUNTIME_DIR;
  return w;
}

export const sha256 = (b: Buffer | string): string =>
  'sha256:' + createHash('sha256').update(b).digest('hex');

/** Write an OCI image layout directory with one image of gzip layers made from plain tars. */
export async function writeOciLayout(
  dir: string,
  layerTars: Buffer[],
  runtime: Record<string, unknown>,
  tag = 'latest',
): Promise<{ manifestDigest: string }> {
  await fsp.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = async (b: Buffer) => {
    const d = sha256(b);
    await fsp.writeFile(path.join(dir, 'blobs', 'sha256', d.slice(7)), b);
    return { digest: d, size: b.length };
  };
  const layers = [];
  const diffIds = [];
  for (const t of layerTars) {
    diffIds.push(sha256(t));
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...(await put(gzipSync(t))) });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      config: runtime,
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...(await put(config)) },
      layers,
    }),
  );
  const m = await put(manifest);
  await fsp.writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await fsp.writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...m,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { manifestDigest: m.digest };
}

/**
 * skopeo's environment: its own (absent) auth file. Without one it reads
 * /run/containers/UID/auth.json when XDG_RUNTIME_DIR is unset, and a root podman run on the same
 * machine leaves /run/containers mode 0700 root: "permission denied" for the test user.
 */
const skopeoEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  REGISTRY_AUTH_FILE: path.join(inject('moatEnv').base, 'skopeo-auth.json'),
});

export function skopeo(args: string[]): Result {
  const r = spawnSync('skopeo', args, { encoding: 'utf8', timeout: 120_000, env: skopeoEnv() });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** skopeo without blocking the event loop (needed when this process serves the token service). */
export function skopeoAsync(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('skopeo', args, { stdio: ['ignore', 'pipe', 'pipe'], env: skopeoEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
