/**
 * Docker credential helpers (the docker-credential-helpers protocol): `docker-credential-NAME`
 * on PATH, one action per run.
 *
 *   get    stdin: the server URL          stdout: {"ServerURL","Username","Secret"}
 *   store  stdin: {"ServerURL","Username","Secret"}
 *   erase  stdin: the server URL
 *
 * A helper that has nothing for the server exits non-zero saying "credentials not found" (in
 * native keychain): that is not an error (no credentials). Username `<token>` means Secret is
 * an identity token (an OAuth2 refresh token for the registry's token service). Any other
 * failure — the binary missing, a non-zero exit, output that is not the JSON above, a helper that
 * hangs — is an error with a stable code (REGISTRY_CREDENTIAL_HELPER_MISSING when no executable
 * of that name is on PATH, else REGISTRY_CREDENTIAL_HELPER_FAILED); its message carries the
 * helper's own first line of output, never the secret.
 *
 * The server URL is what docker uses: `https://index.docker.io/v1/` for Docker Hub, else the
 * registry's `host[:port]`.
 */
import { spawn } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Credentials } from './auth-file.js';
import { RegistryError } from './errors.js';

const HUB_SERVER_URL = 'https://index.docker.io/v1/';
const IDENTITY_TOKEN_USER = '<token>';
const MAX_OUTPUT = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface HelperOptions {
  /** Kill a helper that has not finished after this long (default 60 s: it may ask for a PIN). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** The server URL a helper is asked about for a registry (`docker.io` → Docker Hub's v1 URL). */
export function helperServerUrl(registry: string): string {
  return registry === 'docker.io' ? HUB_SERVER_URL : registry;
}

/** `docker-credential-NAME`, after checking NAME cannot name a path or an option. */
export function helperBinary(name: string): string {
  if (!NAME.test(name))
    throw new RegistryError(
      'REGISTRY_CONFIG_INVALID',
      `invalid credential helper name ${JSON.stringify(name)}`,
      {
        hint: 'credsStore and credHelpers values are helper names such as "pass" or "secretservice"',
      },
    );
  return `docker-credential-${name}`;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** What the helper said, for an error message: its first non-empty line, capped. */
function said(r: Ran): string {
  const line = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  return line ? `: ${line.slice(0, 200)}` : '';
}

function notFound(r: Ran): boolean {
  return r.code !== 0 && /credentials not found/i.test(`${r.stdout}\n${r.stderr}`);
}

function failed(
  bin: string,
  action: string,
  message: string,
  details: Record<string, unknown>,
): RegistryError {
  return new RegistryError(
    'REGISTRY_CREDENTIAL_HELPER_FAILED',
    `credential helper ${bin} ${action}${message}`,
    {
      details: { helper: bin, action, ...details },
      hint: `try the helper on its own (\`echo SERVER | ${bin} get\`), or remove "credsStore"/"credHelpers" from the config file`,
    },
  );
}

/** The helper's absolute path: the first executable file of that name on PATH. */
async function findOnPath(bin: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!path.isAbsolute(dir)) continue; // relative PATH entries would depend on the cwd
    const file = path.join(dir, bin);
    try {
      await fsp.access(file, constants.X_OK);
      if ((await fsp.stat(file)).isFile()) return file;
    } catch {
      /* next */
    }
  }
  return undefined;
}

async function run(
  name: string,
  action: 'get' | 'store' | 'erase',
  input: string,
  o: HelperOptions,
): Promise<Ran> {
  const bin = helperBinary(name);
  const env = o.env ?? process.env;
  const file = await findOnPath(bin, env);
  if (!file)
    throw new RegistryError('REGISTRY_CREDENTIAL_HELPER_MISSING', `credential helper ${bin} is not on PATH`, {
      details: { helper: bin, action },
      hint: `install ${bin}, or remove "credsStore"/"credHelpers" naming "${name}" from the config file`,
    });
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(file, [action], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      reject(failed(bin, action, `: ${(e as Error).message}`, { reason: 'spawn' }));
      return;
    }
    let stdout = '';
    let stderr = '';
    let over = false;
    const take = (cur: string, b: Buffer) => {
      if (cur.length + b.length > MAX_OUTPUT) {
        over = true;
        child.kill('SIGKILL');
        return cur;
      }
      return cur + b.toString('utf8');
    };
    child.stdout.on('data', (b: Buffer) => (stdout = take(stdout, b)));
    child.stderr.on('data', (b: Buffer) => (stderr = take(stderr, b)));
    const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      // A grandchild (an agent the helper started) may still hold the pipes: stop reading.
      child.stdout.destroy();
      child.stderr.destroy();
      fn();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(() =>
        reject(failed(bin, action, ` did not finish within ${timeoutMs} ms`, { reason: 'timeout' })),
      );
    }, timeoutMs);
    child.stdin.on('error', () => {}); // a helper that exits without reading its input
    child.on('error', (e: NodeJS.ErrnoException) => {
      settle(() => reject(failed(bin, action, `: ${e.message}`, { reason: 'spawn', errno: e.code })));
    });
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const done = () =>
      settle(() => {
        const code = exit?.code ?? (exit?.signal ? 128 : 1);
        if (over) reject(failed(bin, action, ` wrote more than ${MAX_OUTPUT} bytes`, { reason: 'output' }));
        else resolve({ code, stdout, stderr });
      });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      grace = setTimeout(done, 1000);
    });
    child.on('close', done);
    child.stdin.end(input);
  });
}

/** Credentials for `registry` from helper `name`; undefined when it has none. */
export async function helperGet(
  name: string,
  registry: string,
  o: HelperOptions = {},
): Promise<Credentials | undefined> {
  const bin = helperBinary(name);
  const r = await run(name, 'get', helperServerUrl(registry), o);
  if (notFound(r)) return undefined;
  if (r.code !== 0)
    throw failed(bin, 'get', ` exited with status ${r.code}${said(r)}`, { reason: 'exit', status: r.code });
  let v: unknown;
  try {
    v = JSON.parse(r.stdout);
  } catch {
    throw failed(bin, 'get', ' did not print JSON', { reason: 'output' });
  }
  const o2 = v as { Username?: unknown; Secret?: unknown } | null;
  if (!o2 || typeof o2 !== 'object' || typeof o2.Username !== 'string' || typeof o2.Secret !== 'string')
    throw failed(bin, 'get', ' printed JSON without string "Username" and "Secret"', { reason: 'output' });
  // Some helpers answer an empty secret for "nothing stored".
  if (o2.Secret === '') return undefined;
  if (o2.Username === IDENTITY_TOKEN_USER)
    return { username: IDENTITY_TOKEN_USER, password: '', identityToken: o2.Secret };
  return { username: o2.Username, password: o2.Secret };
}

/** Store `creds` for `registry` with helper `name`. */
export async function helperStore(
  name: string,
  registry: string,
  creds: Credentials,
  o: HelperOptions = {},
): Promise<void> {
  const bin = helperBinary(name);
  const body = JSON.stringify({
    ServerURL: helperServerUrl(registry),
    Username: creds.identityToken ? IDENTITY_TOKEN_USER : creds.username,
    Secret: creds.identityToken ?? creds.password,
  });
  const r = await run(name, 'store', body, o);
  if (r.code !== 0)
    throw failed(bin, 'store', ` exited with status ${r.code}${said(r)}`, { reason: 'exit', status: r.code });
}

/** Erase `registry`'s credentials from helper `name`; false when it had none. */
export async function helperErase(name: string, registry: string, o: HelperOptions = {}): Promise<boolean> {
  const bin = helperBinary(name);
  const r = await run(name, 'erase', helperServerUrl(registry), o);
  if (notFound(r)) return false;
  if (r.code !== 0)
    throw failed(bin, 'erase', ` exited with status ${r.code}${said(r)}`, { reason: 'exit', status: r.code });
  return true;
}
