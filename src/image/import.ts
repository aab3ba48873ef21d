import * as path from 'node:path';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { isMoatError } from '../errors.js';
import { openArchiveFile } from './archive-input.js';
import { DigestStream, maybeGunzip } from './digest.js';
import { ImageError } from './errors.js';
import { normalizeForStore } from './reference.js';
import type { ImageStore } from './store.js';
import {
  hostPlatform,
  MediaType,
  parsePlatform,
  type ContainerConfig,
  type ImageConfig,
  type ImageManifest,
  type ImageRecord,
  type Platform,
  type ProgressFn,
} from './types.js';

/**
 * `moat import`: a root filesystem tar (plain or gzip) becomes a one-layer image. The tar is read
 * once: inflated if needed, checked to be a tar, hashed (the diffID), gzipped and hashed again as
 * it is written to the store. `changes` take `docker import --change` instructions.
 */

export interface ImportOptions {
  /** `docker import --change` lines: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME. */
  changes?: string[];
  /** `os/arch[/variant]` or object; default the host's. */
  platform?: Platform | string;
  /** History comment (`--message`). */
  message?: string;
  /** Creation time recorded in the config; default now. */
  created?: Date;
  onProgress?: ProgressFn;
}

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_CMD = ['/bin/sh'];

export async function importRootfs(
  store: ImageStore,
  input: string | Readable,
  name: string,
  opts: ImportOptions = {},
): Promise<ImageRecord> {
  // Everything that can be wrong with the arguments fails before the tar is read.
  const storedName = normalizeForStore(name, 'local');
  const runtime = applyChanges({ Env: [DEFAULT_PATH_ENV], Cmd: [...DEFAULT_CMD] }, opts.changes ?? []);
  const platform =
    typeof opts.platform === 'string' ? parsePlatform(opts.platform) : (opts.platform ?? hostPlatform());
  const created = (opts.created ?? new Date()).toISOString();

  // A wrong path is IMAGE_ARCHIVE_NOT_FOUND now, before any byte is stored.
  const source =
    typeof input === 'string' ? (await openArchiveFile(input, 'root filesystem tar')).stream : input;
  let mib = -1;
  const diff = new DigestStream({
    onBytes: (n) => {
      if (Math.floor(n / 0x100000) === mib) return; // one event per MiB
      mib = Math.floor(n / 0x100000);
      opts.onProgress?.({ phase: 'layer', current: n });
    },
  });
  let layer;
  try {
    const { stream } = await maybeGunzip(source);
    layer = await store.putBlob(pipeline(stream, new TarCheck(), diff, createGzip(), () => {}));
  } catch (e) {
    source.destroy();
    if (isMoatError(e) || (e instanceof Error && 'syscall' in e)) throw e;
    throw new ImageError(
      'IMAGE_CORRUPT_LAYER',
      `${describe(input)} is not a tar (or gzipped tar): ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  opts.onProgress?.({ phase: 'commit' });

  const config: ImageConfig = {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: runtime,
    rootfs: { type: 'layers', diff_ids: [diff.digest] },
    history: [
      {
        created,
        created_by: ['moat import', ...(opts.changes ?? []).map((c) => `--change ${JSON.stringify(c)}`)].join(
          ' ',
        ),
        ...(opts.message ? { comment: opts.message } : {}),
      },
    ],
  };
  const cfg = await store.putBlob(Buffer.from(JSON.stringify(config)));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: cfg.digest, size: cfg.size },
    layers: [{ mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.size }],
  };
  const man = await store.putBlob(Buffer.from(JSON.stringify(manifest)));
  return store.addImage(man.digest, [storedName]);
}

function describe(input: string | Readable): string {
  return typeof input === 'string' ? path.basename(input) : 'stdin';
}

/**
 * Passes bytes through while a tar parser reads them on the side, so a file that is not a tar
 * fails the import instead of becoming a layer. (What the entries contain is unpack's business.)
 */
class TarCheck extends Transform {
  private readonly extract = tar.extract();
  private failure?: Error;
  private bytes = 0;

  constructor() {
    super();
    this.extract.on('entry', (_h, s, next) => {
      s.on('end', () => next());
      s.resume();
    });
    this.extract.on('error', (e: Error) => {
      this.failure = e;
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.failure) return cb(this.failure);
    this.bytes += chunk.length;
    if (this.extract.write(chunk)) return cb(null, chunk);
    const go = (): void => {
      this.extract.off('drain', go);
      this.extract.off('close', go);
      cb(this.failure ?? null, chunk);
    };
    this.extract.on('drain', go);
    this.extract.on('close', go);
  }

  override _flush(cb: TransformCallback): void {
    if (this.failure) return cb(this.failure);
    if (this.bytes === 0) return cb(new Error('the input is empty'));
    const done = (): void => cb(this.failure ?? null);
    this.extract.once('finish', done);
    this.extract.once('error', done);
    this.extract.end(null);
  }
}

// ---- --change -------------------------------------------------------------------------------

const SUPPORTED = ['CMD', 'ENTRYPOINT', 'ENV', 'WORKDIR', 'USER', 'LABEL', 'EXPOSE', 'VOLUME'];

function bad(change: string, why: string): ImageError {
  return new ImageError('IMAGE_INVALID_CHANGE', `--change ${JSON.stringify(change)}: ${why}`, {
    hint: `supported instructions: ${SUPPORTED.join(', ')} (Dockerfile syntax)`,
  });
}

/**
 * Apply `docker import --change` instructions to a runtime config (a copy is returned). As in a
 * Dockerfile, ENTRYPOINT clears an inherited CMD unless the changes also set CMD.
 */
export function applyChanges(base: ContainerConfig, changes: string[]): ContainerConfig {
  const c: ContainerConfig = structuredClone(base);
  const cmdGiven = changes.some((ch) => /^\s*cmd(\s|$)/i.test(ch));
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(change);
    if (!m) throw bad(change, 'expected INSTRUCTION arguments');
    const instr = m[1].toUpperCase();
    const args = (m[2] ?? '').trim();
    switch (instr) {
      case 'CMD':
        c.Cmd = commandForm(change, args);
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = commandForm(change, args);
        if (!cmdGiven) c.Cmd = null;
        break;
      case 'ENV':
        for (const [k, v] of pairs(change, args, true)) {
          c.Env = [...(c.Env ?? []).filter((e) => e.split('=')[0] !== k), `${k}=${v}`];
        }
        break;
      case 'LABEL':
        for (const [k, v] of pairs(change, args, false)) c.Labels = { ...(c.Labels ?? {}), [k]: v };
        break;
      case 'WORKDIR':
        if (!args) throw bad(change, 'WORKDIR needs a path');
        c.WorkingDir = path.posix.resolve(c.WorkingDir || '/', words(change, args).join(' '));
        break;
      case 'USER': {
        const w = words(change, args);
        if (w.length !== 1 || !/^[^:\s]+(?::[^:\s]+)?$/.test(w[0]))
          throw bad(change, 'USER takes one user[:group]');
        c.User = w[0];
        break;
      }
      case 'EXPOSE':
        if (!args) throw bad(change, 'EXPOSE needs a port');
        for (const p of words(change, args))
          c.ExposedPorts = { ...(c.ExposedPorts ?? {}), ...exposed(change, p) };
        break;
      case 'VOLUME': {
        // JSON form (["/a", "/b"]) or words, as a Dockerfile's VOLUME.
        const paths = args.startsWith('[')
          ? jsonStrings(change, args, 'the JSON form must be an array of paths')
          : words(change, args);
        if (!paths.length) throw bad(change, 'VOLUME needs a path');
        for (const p of paths) {
          if (!p.startsWith('/')) throw bad(change, `VOLUME path ${JSON.stringify(p)} must be absolute`);
          c.Volumes = { ...(c.Volumes ?? {}), [path.posix.normalize(p).replace(/(.)\/$/, '$1')]: {} };
        }
        break;
      }
      default:
        throw bad(change, `unsupported instruction ${instr}`);
    }
  }
  return c;
}

/** A JSON array of strings (the exec form of CMD, the JSON form of VOLUME), or `why`. */
function jsonStrings(change: string, args: string, why: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(args);
  } catch {
    throw bad(change, why);
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(change, why);
  return v as string[];
}

/** JSON (exec) form, or shell form run by /bin/sh -c. */
function commandForm(change: string, args: string): string[] {
  if (args.startsWith('[')) return jsonStrings(change, args, 'the exec form must be a JSON array of strings');
  if (!args) throw bad(change, 'missing command');
  return ['/bin/sh', '-c', args];
}

/** `k=v k2="v 2"`; for ENV also the legacy `KEY value with spaces`. */
function pairs(change: string, args: string, legacy: boolean): [string, string][] {
  if (!args) throw bad(change, 'missing key=value');
  const w = words(change, args);
  if (!w[0].includes('=')) {
    if (!legacy || w.length < 2) throw bad(change, 'expected key=value');
    const key = w[0];
    return [[key, args.slice(args.indexOf(key) + key.length).trim()]];
  }
  return w.map((word) => {
    const eq = word.indexOf('=');
    if (eq <= 0) throw bad(change, `expected key=value, got ${JSON.stringify(word)}`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

function exposed(change: string, spec: string): Record<string, object> {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  const lo = Number(m?.[1]);
  const hi = m?.[2] ? Number(m[2]) : lo;
  if (!m || lo < 1 || hi > 65535 || hi < lo || hi - lo > 1000)
    throw bad(change, `invalid port ${JSON.stringify(spec)}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  const out: Record<string, object> = {};
  for (let p = lo; p <= hi; p++) out[`${p}/${proto}`] = {};
  return out;
}

/** Split on whitespace, honouring "double" and 'single' quotes and backslash escapes. */
function words(change: string, s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw bad(change, 'unterminated quote');
  if (inWord) out.push(cur);
  return out;
}
