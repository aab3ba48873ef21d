/**
 * Real registries for the e2e tests: Debian's `docker-registry` on 127.0.0.1 (a free port),
 * plain, with htpasswd basic auth, or with TLS from a CA made here with node-forge. Plus a
 * moat runner with its own store and config directories, and OCI layout writers for skopeo.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, promises as fsp, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import forge from 'node-forge';
import { inject } from 'vitest';
import { bin, moat, type Result } from './moat.js';

export const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

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
  const pki = forge.pki;
  const caKeys = pki.rsa.generateKeyPair(2048);
  const ca = pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = '01';
  ca.validity.notBefore = new Date(Date.now() - 60_000);
  ca.validity.notAfter = new Date(Date.now() + 86_400_000);
  const caName = [{ name: 'commonName', value: 'moat test CA' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());
  const keys = pki.rsa.generateKeyPair(2048);
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '02';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: '127.0.0.1' }]);
  cert.setIssuer(caName);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
  ]);
  cert.sign(caKeys.privateKey, forge.md.sha256.create());
  const caPem = pki.certificateToPem(ca);
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  writeFileSync(certFile, pki.certificateToPem(cert));
  writeFileSync(keyFile, pki.privateKeyToPem(keys.privateKey), { mode: 0o600 });
  return { caPem, certFile, keyFile };
}

export async function startRegistry(
  opts: { auth?: { user: string; pass: string }; tls?: boolean } = {},
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

export function skopeo(args: string[]): Result {
  const r = spawnSync('skopeo', args, { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
