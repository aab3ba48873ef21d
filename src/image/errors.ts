import { MoatError, type MoatErrorOptions } from '../errors.js';

/**
 * Stable codes for everything the image room reports on purpose. Scripts and tests match on these,
 * never on messages. Add new codes to the end of the list.
 */
export const IMAGE_ERROR_CODES = [
  /** An entry name is absolute, has a `..` component, a NUL byte, or is too long. */
  'IMAGE_UNSAFE_PATH',
  /** A symlink or hardlink whose target escapes the rootfs, or a hardlink to a missing target. */
  'IMAGE_UNSAFE_LINK',
  /** An entry would replace a directory with a link, or a parent component is not a directory. */
  'IMAGE_UNSAFE_ENTRY',
  /** Device nodes, fifos and tar entry types moat does not create. */
  'IMAGE_UNSUPPORTED_ENTRY',
  /** The layer is not valid gzip or tar. */
  'IMAGE_CORRUPT_LAYER',
  /** The layer uses a compression Node 20 cannot read (zstd, xz, bzip2). */
  'IMAGE_UNSUPPORTED_COMPRESSION',
  /** The layer blob could not be opened or read. */
  'IMAGE_LAYER_UNREADABLE',
  /** lchown failed while preserving ownership (usually: no user namespace covering the IDs). */
  'IMAGE_CHOWN_FAILED',
  /** Any other filesystem failure while unpacking. */
  'IMAGE_UNPACK_FAILED',
  /** The unpack worker got a request it cannot parse. */
  'IMAGE_WORKER_BAD_INPUT',
  // Store, references and local formats (store.ts, reference.ts, archive.ts, import.ts).
  /** A string is not a valid image reference (`[host[:port]/]repo[:tag][@sha256:hex]`). */
  'IMAGE_INVALID_REFERENCE',
  /** A digest string is malformed or uses an algorithm other than sha256. */
  'IMAGE_INVALID_DIGEST',
  /** Content does not hash to the digest it was announced with. */
  'IMAGE_DIGEST_MISMATCH',
  /** Content is not the size it was announced with. */
  'IMAGE_SIZE_MISMATCH',
  /** A blob the store needs is not in `blobs/`. */
  'IMAGE_BLOB_NOT_FOUND',
  /** A JSON blob (manifest, index, config) is larger than moat is willing to parse. */
  'IMAGE_BLOB_TOO_LARGE',
  /** A manifest or index is malformed. */
  'IMAGE_INVALID_MANIFEST',
  /** An image config is malformed (or its diff_ids do not match the layers). */
  'IMAGE_INVALID_CONFIG',
  /** A manifest, config or layer media type moat does not run. */
  'IMAGE_UNSUPPORTED_MEDIA_TYPE',
  /** An index has no manifest for the wanted platform. */
  'IMAGE_PLATFORM_NOT_FOUND',
  /** An archive (OCI layout tar or docker save tar) is malformed or hostile. */
  'IMAGE_INVALID_ARCHIVE',
  /** An `import --change` instruction cannot be parsed or is not supported. */
  'IMAGE_INVALID_CHANGE',
  /** No local image matches a name or ID. */
  'IMAGE_NOT_FOUND',
  /** An ID prefix matches more than one local image. */
  'IMAGE_AMBIGUOUS_ID',
  /** The operation would affect more than the user named (e.g. removing an ID with several names). */
  'IMAGE_CONFLICT',
  /** images.json cannot be parsed. */
  'IMAGE_STORE_CORRUPT',
  /** The store lock was held by a live process for too long. */
  'IMAGE_LOCK_TIMEOUT',
  // Registries (registry/): what a registry sends that moat refuses.
  /** A blob ended before its announced size (connection closed, body cut short). */
  'IMAGE_BLOB_TRUNCATED',
  /** A Docker schema 1 manifest: deprecated, unsigned content addressing; moat does not pull it. */
  'IMAGE_SCHEMA1_UNSUPPORTED',
  /** The image exceeds a configured limit (layer count, layer size, total size). */
  'IMAGE_LIMIT_EXCEEDED',
  /** The image is used by a container: refused while one runs, without force while one exists. */
  'IMAGE_IN_USE',
  /** The archive or rootfs tar to load or import does not exist. */
  'IMAGE_ARCHIVE_NOT_FOUND',
  /** The archive or rootfs tar exists but cannot be read (permissions, a directory, stdin a TTY). */
  'IMAGE_ARCHIVE_UNREADABLE',
] as const;

export type ImageErrorCode = (typeof IMAGE_ERROR_CODES)[number];

export class ImageError extends MoatError {
  declare readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'ImageError';
  }
}

export function isImageError(e: unknown): e is ImageError {
  return e instanceof ImageError;
}
