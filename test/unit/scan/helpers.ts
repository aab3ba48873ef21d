/**
 * Images for scan tests, built in memory (tar-stream + gzip) and stored into a temp ImageStore:
 * hostile names, device nodes and whiteouts included, which the image tests' builders do not make.
 * Secrets are made at test time from random characters: none is committed.
 */
import { randomInt } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ImageStore } from '../../../src/image/store.js';
import type { ImageConfig, ImageRecord } from '../../../src/image/types.js';
import { packTar, sha256, tempDir, type TarFile } from '../image/helpers.js';

export { packTar, tempDir, type TarFile };

export const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n';
export const GROUP = 'root:x:0:\napp:x:1000:\n';

/** A base layer with nothing to report: accounts, a sticky /tmp, an executable. */
export const CLEAN_BASE: TarFile[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/passwd', content: PASSWD },
  { name: 'etc/group', content: GROUP },
  { name: 'tmp/', type: 'directory', mode: 0o1777 },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/bin/', type: 'directory' },
  { name: 'usr/bin/tool', content: '#!/bin/sh\necho hello\n', mode: 0o755 },
  { name: 'usr/bin/sh', type: 'symlink', linkname: '/usr/bin/tool' },
];

export const CLEAN_RUNTIME: ImageConfig['config'] = {
  User: 'app',
  Env: ['PATH=/usr/bin:/bin', 'LANG=C.UTF-8'],
  Cmd: ['/usr/bin/tool'],
};

export interface StoredImage {
  store: ImageStore;
  record: ImageRecord;
  layerDigests: string[];
}

export async function storeImage(
  store: ImageStore,
  layers: TarFile[][],
  opts: { gzip?: boolean; runtime?: ImageConfig['config']; history?: ImageConfig['history'] } = {},
): Promise<StoredImage> {
  const built: { digest: string; size: number; diffId: string; mediaType: string }[] = [];
  for (const files of layers) {
    const plain = await packTar(files);
    const gzip = opts.gzip ?? true;
    const bytes = gzip ? gzipSync(plain) : plain;
    await store.putBlob(bytes);
    built.push({
      digest: sha256(bytes),
      size: bytes.length,
      diffId: sha256(plain),
      mediaType: gzip
        ? 'application/vnd.oci.image.layer.v1.tar+gzip'
        : 'application/vnd.oci.image.layer.v1.tar',
    });
  }
  const config: ImageConfig = {
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: opts.runtime ?? CLEAN_RUNTIME,
    rootfs: { type: 'layers', diff_ids: built.map((l) => l.diffId) },
    history: opts.history ?? built.map(() => ({ created_by: 'COPY . / # buildkit' })),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  await store.putBlob(configBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha256(configBytes),
      size: configBytes.length,
    },
    layers: built.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  await store.putBlob(manifestBytes);
  const record = await store.addImage(sha256(manifestBytes), []);
  return { store, record, layerDigests: built.map((l) => l.digest) };
}

/** A temp store for one test file. */
export async function tempStore(): Promise<{ store: ImageStore; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir('moat-scan-');
  return { store: new ImageStore(dir), cleanup };
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const B64 = ALNUM + '+/';

/** `n` random characters of `alphabet`. */
export function rand(n: number, alphabet = ALNUM): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/**
 * `n` distinct random characters of `alphabet`: its Shannon entropy is exactly log2(n), so a
 * test of an entropy threshold does not depend on the draw.
 */
export function randDistinct(n: number, alphabet = ALNUM): string {
  const pool = [...alphabet];
  let s = '';
  for (let i = 0; i < n; i++) s += pool.splice(randomInt(pool.length), 1)[0];
  return s;
}

export const fake = {
  awsKeyId: (): string => 'AKIA' + rand(16, UPPER + '234567'),
  awsSecret: (): string => randDistinct(40, B64),
  github: (): string => 'ghp' + '_' + rand(36),
  gitlab: (): string => 'glpat' + '-' + rand(20),
  slack: (): string => 'xox' + 'b-' + rand(12, '0123456789') + '-' + rand(24),
  npm: (): string => 'npm' + '_' + rand(36),
  azureKey: (): string => rand(86, B64) + '==',
  jwt: (): string => {
    const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub: rand(8), iat: 1700000000 })}.${rand(43)}`;
  },
  pemBody: (): string => 'MII' + rand(61, B64),
};

/** A finding reduced to what the tests assert. */
export function brief(f: {
  rule: string;
  path?: string;
  line?: number;
  detail?: string;
  field?: string;
}): Record<string, unknown> {
  return {
    rule: f.rule,
    ...(f.path !== undefined ? { path: f.path } : {}),
    ...(f.line !== undefined ? { line: f.line } : {}),
    ...(f.field !== undefined ? { field: f.field } : {}),
    ...(f.detail !== undefined ? { detail: f.detail } : {}),
  };
}
