import type { ErrorObject } from 'ajv';
import { lazyValidator } from '../util/schema.js';
import { ImageError, type ImageErrorCode } from './errors.js';

/**
 * The OCI shapes moat reads and writes, the checks that turn untrusted JSON into them, and the
 * host platform. Field names follow the OCI image spec (and Docker's config, which is compatible).
 */

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.DockerManifest];
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList];
export const CONFIG_MEDIA_TYPES: readonly string[] = [MediaType.OciConfig, MediaType.DockerConfig];
/** Layer types moat stores. zstd is stored but only unpacked where the runtime can inflate it. */
export const LAYER_MEDIA_TYPES: readonly string[] = [
  MediaType.OciLayer,
  MediaType.OciLayerGzip,
  MediaType.OciLayerZstd,
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  MediaType.DockerLayerGzip,
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
];

/** Largest manifest, index or archive metadata JSON moat parses. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Largest image config moat parses (long histories make configs bigger than manifests). */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The runtime part of an image config (`config` in OCI, `Config` in `docker inspect`). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object> | null;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  /** HEALTHCHECK (durations in nanoseconds); runtime/health/config.ts reads it. */
  Healthcheck?: {
    Test?: string[] | null;
    Interval?: number;
    Timeout?: number;
    Retries?: number;
    StartPeriod?: number;
  } | null;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

export interface LayerRecord {
  /** Digest of the blob as stored (compressed, if it is). */
  digest: string;
  size: number;
  mediaType: string;
  /** sha256 of the uncompressed tar, from the config's rootfs.diff_ids. */
  diffId: string;
}

/** One entry of images.json. */
export interface ImageRecord {
  /** The config digest, as `docker images --no-trunc` shows it. */
  id: string;
  manifestDigest: string;
  /** Full names, `host/path:tag`; empty for a dangling image. */
  names: string[];
  /**
   * `host/path@sha256:…` the image was pulled by or as (the tag's digest, which may be an
   * index's, and the manifest's), so `run host/path@digest` finds it without the registry.
   */
  repoDigests?: string[];
  /** The config's `created`, or when the image was added if the config has none. */
  created: string;
  layers: LayerRecord[];
  /** Bytes of the layer blobs as stored (compressed). */
  size: number;
}

export interface ProgressEvent {
  phase: string;
  current?: number;
  total?: number;
  digest?: string;
}
export type ProgressFn = (event: ProgressEvent) => void;

// ---- checks ---------------------------------------------------------------------------------

// Compiled on first use, or precompiled at build time (src/util/schema.ts).
const AJV_OPTS = { allErrors: false, strict: true, allowUnionTypes: true };

const digestSchema = { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' };
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const platformSchema = {
  type: 'object',
  required: ['os', 'architecture'],
  properties: {
    os: { type: 'string', minLength: 1 },
    architecture: { type: 'string', minLength: 1 },
    variant: { type: 'string' },
    'os.version': { type: 'string' },
    'os.features': { type: 'array', items: { type: 'string' } },
  },
};
const descriptorSchema = {
  type: 'object',
  required: ['mediaType', 'digest', 'size'],
  properties: {
    mediaType: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$',
    },
    digest: digestSchema,
    size: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    annotations: stringMap,
    platform: platformSchema,
    urls: { type: 'array', items: { type: 'string' } },
  },
};
const nullable = (t: string) => ({ type: [t, 'null'] });
const nullableStrings = { type: ['array', 'null'], items: { type: 'string' } };

const manifestCheck = lazyValidator(
  'image:manifest',
  {
    type: 'object',
    required: ['schemaVersion', 'config', 'layers'],
    properties: {
      schemaVersion: { const: 2 },
      mediaType: { type: 'string' },
      config: descriptorSchema,
      layers: { type: 'array', maxItems: 500, items: descriptorSchema },
      annotations: stringMap,
    },
  },
  AJV_OPTS,
);
const indexCheck = lazyValidator(
  'image:index',
  {
    type: 'object',
    required: ['schemaVersion', 'manifests'],
    properties: {
      schemaVersion: { const: 2 },
      mediaType: { type: 'string' },
      manifests: { type: 'array', maxItems: 10_000, items: descriptorSchema },
      annotations: stringMap,
    },
  },
  AJV_OPTS,
);
const configCheck = lazyValidator(
  'image:config',
  {
    type: 'object',
    required: ['architecture', 'os', 'rootfs'],
    properties: {
      created: { type: 'string' },
      author: { type: 'string' },
      architecture: { type: 'string', minLength: 1 },
      os: { type: 'string', minLength: 1 },
      variant: { type: 'string' },
      config: {
        type: ['object', 'null'],
        properties: {
          User: { type: 'string' },
          ExposedPorts: nullable('object'),
          Env: nullableStrings,
          Entrypoint: nullableStrings,
          Cmd: nullableStrings,
          Volumes: nullable('object'),
          WorkingDir: { type: 'string' },
          Labels: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
          StopSignal: { type: 'string' },
        },
      },
      rootfs: {
        type: 'object',
        required: ['type', 'diff_ids'],
        properties: { type: { const: 'layers' }, diff_ids: { type: 'array', items: digestSchema } },
      },
      history: { type: 'array', items: { type: 'object' } },
    },
  },
  AJV_OPTS,
);

function explain(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'invalid';
  return `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`;
}

/** Parse JSON from untrusted bytes, throwing `code` with `what` in the message. */
export function parseJson(data: Buffer | string, code: ImageErrorCode, what: string): unknown {
  try {
    return JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as unknown;
  } catch (e) {
    throw new ImageError(code, `${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Check an image manifest: shape, then media types moat runs. An index handed in where a manifest
 * is expected is refused with IMAGE_UNSUPPORTED_MEDIA_TYPE (the caller has to pick a platform).
 */
export function checkManifest(value: unknown, what = 'manifest'): ImageManifest {
  const mt = (value as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mt === 'string' && INDEX_MEDIA_TYPES.includes(mt)) {
    throw new ImageError(
      'IMAGE_UNSUPPORTED_MEDIA_TYPE',
      `${what} is an index (${mt}), not an image manifest`,
    );
  }
  if (!manifestCheck(value)) {
    throw new ImageError('IMAGE_INVALID_MANIFEST', `${what}: ${explain(manifestCheck.errors)}`);
  }
  const m = value as ImageManifest;
  if (m.mediaType !== undefined && !MANIFEST_MEDIA_TYPES.includes(m.mediaType)) {
    throw new ImageError(
      'IMAGE_UNSUPPORTED_MEDIA_TYPE',
      `${what} has unsupported media type ${m.mediaType}`,
      {
        hint: `moat runs ${MANIFEST_MEDIA_TYPES.join(' or ')}`,
      },
    );
  }
  if (!CONFIG_MEDIA_TYPES.includes(m.config.mediaType)) {
    throw new ImageError(
      'IMAGE_UNSUPPORTED_MEDIA_TYPE',
      `${what} has config media type ${m.config.mediaType}: not a container image`,
    );
  }
  for (const l of m.layers) {
    if (!LAYER_MEDIA_TYPES.includes(l.mediaType)) {
      throw new ImageError('IMAGE_UNSUPPORTED_MEDIA_TYPE', `${what} has layer media type ${l.mediaType}`, {
        details: { digest: l.digest },
      });
    }
  }
  return m;
}

export function checkIndex(value: unknown, what = 'index'): ImageIndex {
  if (!indexCheck(value))
    throw new ImageError('IMAGE_INVALID_MANIFEST', `${what}: ${explain(indexCheck.errors)}`);
  return value as ImageIndex;
}

/** Check an image config; with `layerCount`, its diff_ids must be one per layer. */
export function checkConfig(value: unknown, layerCount?: number, what = 'image config'): ImageConfig {
  if (!configCheck(value))
    throw new ImageError('IMAGE_INVALID_CONFIG', `${what}: ${explain(configCheck.errors)}`);
  const c = value as ImageConfig;
  if (layerCount !== undefined && c.rootfs.diff_ids.length !== layerCount) {
    throw new ImageError(
      'IMAGE_INVALID_CONFIG',
      `${what} lists ${c.rootfs.diff_ids.length} diff_ids but the manifest has ${layerCount} layers`,
    );
  }
  return c;
}

// ---- platform -------------------------------------------------------------------------------

const NODE_TO_OCI_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};
const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', i386: '386', armhf: 'arm' };

export function ociArchitecture(nodeArch: string = process.arch): string {
  return NODE_TO_OCI_ARCH[nodeArch] ?? nodeArch;
}

export function hostPlatform(): Platform {
  const architecture = ociArchitecture();
  if (architecture !== 'arm') return { os: 'linux', architecture };
  const v = (process.config.variables as Record<string, unknown>).arm_version;
  return { os: 'linux', architecture, variant: `v${typeof v === 'string' || typeof v === 'number' ? v : 7}` };
}

/** `os/arch[/variant]` (as `--platform` takes it), e.g. `linux/arm64` or `linux/arm/v7`. */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new ImageError('IMAGE_INVALID_REFERENCE', `invalid platform ${JSON.stringify(s)}`, {
      hint: 'use os/arch[/variant], e.g. linux/amd64 or linux/arm/v7',
    });
  }
  const architecture = ARCH_ALIASES[parts[1]] ?? parts[1];
  return parts[2] ? { os: parts[0], architecture, variant: parts[2] } : { os: parts[0], architecture };
}

function normVariant(p: Platform): string | undefined {
  if (p.architecture === 'arm64' && p.variant === 'v8') return undefined;
  return p.variant || undefined;
}

/**
 * How well `candidate` serves `wanted`: -1 no, 1 yes with an unspecified variant, 2 exactly.
 * Used to pick a manifest out of an index.
 */
export function platformScore(candidate: Platform | undefined, wanted: Platform): number {
  if (!candidate) return -1;
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return -1;
  const cv = normVariant(candidate);
  const wv = normVariant(wanted);
  if (cv === wv) return 2;
  if (cv === undefined || wv === undefined) return 1;
  return -1;
}
