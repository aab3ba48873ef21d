import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../errors.js';

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
  /**
   * A file moat reads from an image's or container's root on the host (/etc/passwd, /etc/group)
   * is not a regular file, is too large, or its symlinks loop or climb out of the root.
   */
  'IMAGE_UNSAFE_FILE',
  /** Unpacking an image would write more bytes or entries than the configured limits allow. */
  'IMAGE_UNPACK_LIMIT',
] as const;

export type ImageErrorCode = (typeof IMAGE_ERROR_CODES)[number];

const refused = (hint: string) => ({ http: 400, exit: EXIT.moat, hint });
const damaged = (hint: string) => ({ http: 500, exit: EXIT.moat, hint });
const UNPACK_REFUSED =
  'moat refuses to write this entry (docs/unpack.md): use another image, or rebuild it without it';
const REFETCH = 'moat image fsck checks the store; pull or load the image again';

/** Statuses and default hints of every image code (see ErrorTable). */
export const IMAGE_ERRORS: ErrorTable<ImageErrorCode> = {
  IMAGE_UNSAFE_PATH: refused(UNPACK_REFUSED),
  IMAGE_UNSAFE_LINK: refused(UNPACK_REFUSED),
  IMAGE_UNSAFE_ENTRY: refused(UNPACK_REFUSED),
  IMAGE_UNSUPPORTED_ENTRY: refused(
    'device nodes and fifos cannot be created rootless: rebuild the image without them',
  ),
  IMAGE_CORRUPT_LAYER: damaged(REFETCH),
  IMAGE_UNSUPPORTED_COMPRESSION: refused('recompress the layer with gzip, or leave it uncompressed'),
  IMAGE_LAYER_UNREADABLE: damaged(REFETCH),
  IMAGE_CHOWN_FAILED: damaged(
    "unpacking keeps the files' owners inside a user namespace: moat info shows your ID ranges (/etc/subuid, /etc/subgid)",
  ),
  IMAGE_UNPACK_FAILED: damaged('run again with --log-level debug; moat image prune removes half-made roots'),
  IMAGE_WORKER_BAD_INPUT: damaged(
    'this is a bug in moat: please report it with the output of --log-level debug',
  ),
  IMAGE_INVALID_REFERENCE: {
    http: 400,
    exit: EXIT.usage,
    hint: 'a reference is [HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST], in lower case',
  },
  IMAGE_INVALID_DIGEST: {
    http: 400,
    exit: EXIT.usage,
    hint: 'a digest is sha256: followed by 64 lower-case hex digits',
  },
  IMAGE_DIGEST_MISMATCH: damaged(
    'the content was altered or damaged on its way; nothing was stored: try again, and suspect the source if it persists',
  ),
  IMAGE_SIZE_MISMATCH: damaged(
    'the content is not the size it was announced with; nothing was stored: try again, and suspect the source if it persists',
  ),
  IMAGE_BLOB_NOT_FOUND: { http: 404, exit: EXIT.failure, hint: REFETCH },
  IMAGE_BLOB_TOO_LARGE: damaged('moat refuses JSON blobs this large: the image is unusual or hostile'),
  IMAGE_INVALID_MANIFEST: refused(
    "the image's manifest is malformed: use another image, or rebuild and push it again",
  ),
  IMAGE_INVALID_CONFIG: refused(
    "the image's config is malformed: use another image, or rebuild and push it again",
  ),
  IMAGE_UNSUPPORTED_MEDIA_TYPE: refused('moat runs OCI and Docker v2 images (tar layers, plain or gzip)'),
  IMAGE_PLATFORM_NOT_FOUND: {
    http: 404,
    exit: EXIT.failure,
    hint: "pick one of the image's platforms with --platform OS/ARCH",
  },
  IMAGE_INVALID_ARCHIVE: {
    http: 400,
    exit: EXIT.moat,
    hint: 'moat load takes an OCI image-layout tar or a docker save tar; moat import takes a root filesystem tar',
  },
  IMAGE_INVALID_CHANGE: {
    http: 400,
    exit: EXIT.usage,
    hint: '--change takes one Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE or VOLUME',
  },
  IMAGE_NOT_FOUND: {
    http: 404,
    exit: EXIT.failure,
    hint: 'moat images lists the local images; pull or load it first',
  },
  IMAGE_AMBIGUOUS_ID: {
    http: 400,
    exit: EXIT.failure,
    hint: 'give more characters of the ID, or a name (moat images lists both)',
  },
  IMAGE_CONFLICT: {
    http: 409,
    exit: EXIT.failure,
    hint: 'the message says what is in the way; name exactly what to remove',
  },
  IMAGE_STORE_CORRUPT: damaged(
    'moat image fsck checks the store; the message names the file that cannot be read',
  ),
  IMAGE_LOCK_TIMEOUT: damaged('another moat command holds the image store: retry when it has finished'),
  IMAGE_BLOB_TRUNCATED: damaged('the connection ended early: pull again (the blobs already stored are kept)'),
  IMAGE_SCHEMA1_UNSUPPORTED: refused(
    'schema 1 manifests are deprecated: push the image again with a current client',
  ),
  IMAGE_LIMIT_EXCEEDED: damaged(
    "the image exceeds moat's limits on layers and sizes; the message says which",
  ),
  IMAGE_IN_USE: {
    http: 409,
    exit: EXIT.failure,
    hint: 'moat ps -a lists the containers: stop and remove those that use the image first',
  },
  IMAGE_ARCHIVE_NOT_FOUND: {
    http: 404,
    exit: EXIT.failure,
    hint: 'check the path; - reads the archive from stdin',
  },
  IMAGE_UNSAFE_FILE: refused(
    "moat reads an image's /etc/passwd and /etc/group only as regular files of at most 1 MiB, symlinks resolved inside the image: fix the image",
  ),
  IMAGE_UNPACK_LIMIT: refused(
    'the image unpacks to more than MOAT_UNPACK_MAX_BYTES bytes or MOAT_UNPACK_MAX_ENTRIES entries (0: no limit): raise the limit if you trust the image',
  ),
  IMAGE_ARCHIVE_UNREADABLE: {
    http: 400,
    exit: EXIT.failure,
    hint: "check the file's permissions; to read stdin, pipe the archive in (moat load < FILE)",
  },
};

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
