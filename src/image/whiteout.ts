import { ImageError } from './errors.js';
import { quote } from './unpack-path.js';

/** OCI image spec, "Whiteouts": https://github.com/opencontainers/image-spec/blob/main/layer.md */
export const WHITEOUT_PREFIX = '.wh.';
/** aufs-era metadata names (`.wh..wh.plnk`, `.wh..wh.aufs`); docker skips them, so do we. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

export type Whiteout =
  | { kind: 'none' }
  /** Remove everything earlier layers put in the parent directory. */
  | { kind: 'opaque' }
  /** Remove `name` (file or whole tree) from earlier layers. */
  | { kind: 'remove'; name: string }
  /** An aufs metadata entry: neither created nor acted on. */
  | { kind: 'meta' };

/** Classify the last component of an entry name. */
export function classifyWhiteout(leaf: string): Whiteout {
  if (!leaf.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  if (leaf === WHITEOUT_OPAQUE) return { kind: 'opaque' };
  if (leaf.startsWith(WHITEOUT_META_PREFIX)) return { kind: 'meta' };
  const name = leaf.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') {
    throw new ImageError('IMAGE_UNSAFE_PATH', `refusing whiteout for ${quote(name)}`, { details: { leaf } });
  }
  return { kind: 'remove', name };
}
