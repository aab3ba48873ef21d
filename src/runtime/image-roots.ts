/**
 * The cache of unpacked image roots, as the engine uses it: where an image's root lives, whether
 * it is there and made with this ID mapping (a read, for planning), reading an image's files before
 * its root exists (from the layers), unpacking it once (after an allow, or while a pull downloads),
 * and removing roots and the unpacks a dead moat left half-made. The mechanics (the user
 * namespace, the per-image lock, the mapping marker, the rename into place) are rootfs.ts's.
 */
import { promises as fsp } from 'node:fs';
import { isMoatError } from '../errors.js';
import type { ImageStore } from '../image/store.js';
import type { ImageRecord } from '../image/types.js';
import type { UsernsTools } from '../userns/exec.js';
import type { MoatPaths } from '../util/paths.js';
import { readImageFile } from './container-files.js';
import {
  ensureImageRootfs,
  readyRootfs,
  removeImageRootfs,
  removeStaleUnpacks,
  rootfsDir,
  startUnpackWorker,
  unpackWhileDownloading,
  type RootfsDeps,
  type StreamedLayer,
} from './rootfs.js';

/** For `moat pull`: unpacks an image's root while its layers download (see ImageRoots.liveUnpacker). */
export interface LiveUnpacker {
  unpack: (
    imageId: string,
    layers: StreamedLayer[],
    verified: Promise<unknown>,
    onStart?: () => void,
    onSkip?: (why: string) => void,
  ) => Promise<{ created: boolean } | undefined>;
  dispose: () => void;
}

/** An image's files as planning reads them: from its unpacked root if ready, else its layers. */
export interface ImageFiles {
  /** Where the image's root is (or will be, once unpacked). */
  lowerdir: string;
  /** A file's text, resolved inside the image (never on the host); undefined if absent. */
  read: (rel: string) => Promise<string | undefined>;
}

export class ImageRoots {
  /** `tools` may throw (a host without user namespaces): only what needs them calls it. */
  constructor(
    private readonly paths: MoatPaths,
    private readonly images: ImageStore,
    private readonly tools: () => UsernsTools,
  ) {}

  private deps(): RootfsDeps {
    return {
      storageRoot: this.paths.storage,
      locks: this.paths.locks,
      blobPath: (d: string) => this.images.blobPath(d),
      tools: this.tools(),
    };
  }

  /** Where the image's root is, whether or not it has been unpacked. */
  dir(imageId: string): string {
    return rootfsDir(this.paths.storage, imageId);
  }

  /**
   * The image's `names`, read where they are: the unpacked root if there is one (read lazily, by
   * `read`), else the layers (read now). Nothing is unpacked: planning calls this before the policy.
   */
  async files(image: ImageRecord, names: readonly string[]): Promise<ImageFiles> {
    const deps = this.deps();
    const lowerdir = rootfsDir(deps.storageRoot, image.id);
    const ready = await readyRootfs(deps, image.id);
    const files = ready
      ? undefined
      : // Loaded only here: the tar reader costs every command ~20 ms to load, most never need it.
        await (
          await import('../image/layer-files.js')
        ).readLayerFiles(
          image.layers.map((l) => ({ path: this.images.blobPath(l.digest), mediaType: l.mediaType })),
          names,
        );
    // Not readFile: the image's files are resolved inside its root, never on the host's (see there).
    return { lowerdir, read: async (p) => (ready ? readImageFile(ready, p) : files?.get(p)) };
  }

  /** The image's root, unpacked now unless it is there already (once, under its lock). */
  async ensure(image: ImageRecord, onProgress?: (msg: string) => void): Promise<string> {
    return ensureImageRootfs(this.deps(), image, onProgress);
  }

  /**
   * For `moat pull`: an unpacker for the image's root while its layers download, committed only
   * after `verified` (see rootfs.ts). Its worker starts now, so that its start-up overlaps the
   * manifest fetch; call `dispose` when the pull is over (it stops an unused worker).
   * Undefined when this host cannot make a user namespace (the pull still stores the image;
   * `run` explains what is missing).
   */
  liveUnpacker(): LiveUnpacker | undefined {
    let deps: RootfsDeps;
    try {
      deps = this.deps();
    } catch {
      return undefined;
    }
    const worker = startUnpackWorker(deps);
    let used = false;
    return {
      unpack: (imageId, layers, verified, onStart, onSkip) => {
        if (used) throw new Error('liveUnpacker: one unpack per worker');
        used = true;
        return unpackWhileDownloading(deps, imageId, layers, verified, { onStart, worker }).catch(
          (e: unknown) => {
            // A host where the namespace cannot be made (a CI container, say) can still pull,
            // verify and scan images: the pull goes on without the unpack; `run` will say why.
            if (isMoatError(e) && /^USERNS_/.test(e.code)) {
              onSkip?.(e.message);
              return undefined;
            }
            throw e;
          },
        );
      },
      dispose: () => {
        if (!used) worker.cancel();
      },
    };
  }

  /** Remove unpack trees that a dead moat left half-made (see rootfs.ts); returns their paths. */
  async removeStaleUnpacks(minAgeMs: number): Promise<string[]> {
    let deps: RootfsDeps;
    try {
      deps = this.deps();
    } catch {
      return [];
    }
    return removeStaleUnpacks(deps, minAgeMs);
  }

  /** Remove an image's unpacked root, if there is one (only then is a user namespace needed). */
  async remove(imageId: string): Promise<void> {
    const dir = rootfsDir(this.paths.storage, imageId);
    const present = await fsp.lstat(dir).then(
      () => true,
      () => false,
    );
    if (!present) {
      await fsp.rm(`${dir}.json`, { force: true });
      return;
    }
    await removeImageRootfs(this.deps(), imageId);
  }
}
