/**
 * An image's flattened root: every layer applied in order (whiteouts included) into
 * `storage/rootfs/<image id>`, unpacked once inside moat's user namespace so that file owners
 * land in the subordinate range. Containers mount it as the read-only lower layer of an overlay.
 * The directory appears by rename only when complete; a marker records the mapping it was made with.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { MoatError } from '../errors.js';
import type { ImageRecord } from '../image/types.js';
import { removeTreeInUserns, runCollect, runInUserns, type UsernsTools } from '../userns/exec.js';
import { withLock } from '../util/lock.js';
import { shiftOwnership } from '../userns/shift.js';

export interface RootfsDeps {
  storageRoot: string;
  locks: string;
  blobPath: (digest: string) => string;
  tools: UsernsTools;
}

const WORKER = fileURLToPath(new URL('../image/unpack-worker.js', import.meta.url));

function mappingTag(t: UsernsTools): string {
  return JSON.stringify({ uid: t.maps.uidMap, gid: t.maps.gidMap });
}

export function rootfsDir(storageRoot: string, imageId: string): string {
  return path.join(storageRoot, 'rootfs', imageId.replace(/^sha256:/, ''));
}

export async function ensureImageRootfs(
  deps: RootfsDeps,
  image: ImageRecord,
  onProgress?: (msg: string) => void,
): Promise<string> {
  const dir = rootfsDir(deps.storageRoot, image.id);
  const marker = `${dir}.json`;
  const tag = mappingTag(deps.tools);
  const ready = async () => (await fsp.readFile(marker, 'utf8').catch(() => '')) === tag;
  if (await ready()) return dir;
  return withLock(path.join(deps.locks, `rootfs-${image.id.slice(7, 23)}.lock`), async () => {
    if (await ready()) return dir;
    await fsp.mkdir(path.dirname(dir), { recursive: true });
    // A stale tree (other mapping, or interrupted removal) goes first.
    if (
      await fsp.lstat(dir).then(
        () => true,
        () => false,
      )
    ) {
      await fsp.rm(marker, { force: true });
      await removeTreeInUserns(deps.tools, dir);
    }
    // Everyone but root unpacks inside the user namespace, where the owners land in the
    // subordinate range by themselves. Root unpacks directly (moat's code under /root would be
    // unreadable from inside the namespace), then shifts every owner into its range; until
    // then the tree sits inside a 0700 directory, so no one can reach a file owned by a real
    // host user (a set-user-ID root binary, say).
    const asRoot = deps.tools.callerUid === 0;
    const tmp = path.join(
      path.dirname(dir),
      `.tmp-${path.basename(dir).slice(0, 12)}-${randomBytes(4).toString('hex')}`,
    );
    const root = path.join(tmp, 'rootfs');
    await fsp.mkdir(tmp, { mode: asRoot ? 0o700 : 0o755 });
    await fsp.mkdir(root, { mode: 0o755 });
    const cleanup = () => removeTreeInUserns(deps.tools, tmp).catch(() => {});
    onProgress?.(`unpacking ${image.layers.length} layer(s) of ${image.id.slice(7, 19)}`);
    const input = JSON.stringify({
      rootfs: root,
      layers: image.layers.map((l) => ({ path: deps.blobPath(l.digest), mediaType: l.mediaType })),
      ownership: deps.tools.maps.mode === 'single' ? 'squash' : 'preserve',
    });
    const run = asRoot
      ? runCollect([process.execPath, WORKER], { input })
      : runInUserns(deps.tools, [process.execPath, WORKER], { input, what: 'unpack the image' });
    const r = await run.catch(async (e) => {
      await cleanup();
      throw e;
    });
    const last = r.stdout.trim().split('\n').at(-1) ?? '';
    let res: { ok: boolean; error?: { code: string; message: string; hint?: string } } = { ok: false };
    try {
      res = JSON.parse(last) as typeof res;
    } catch {
      res = {
        ok: false,
        error: { code: 'IMAGE_UNPACK_FAILED', message: `unpack worker failed: ${r.stderr.trim() || last}` },
      };
    }
    if (!res.ok || r.code !== 0) {
      await cleanup();
      const e = res.error ?? { code: 'IMAGE_UNPACK_FAILED', message: r.stderr.trim() };
      throw new MoatError(e.code, e.message, { hint: e.hint });
    }
    // Mount points runc needs on a read-only root; created here so no container writes them.
    const mountPoints =
      'cd "$1" && mkdir -p proc sys dev tmp run etc && touch etc/hosts etc/hostname etc/resolv.conf 2>/dev/null; exit 0';
    try {
      if (asRoot) {
        await runCollect(['sh', '-c', mountPoints, 'sh', root]);
        shiftOwnership(root, deps.tools.maps.uidMap, deps.tools.maps.gidMap);
      } else {
        await runInUserns(deps.tools, ['sh', '-c', mountPoints, 'sh', root], {
          what: 'prepare mount points',
        });
      }
      await fsp.rename(root, dir);
    } finally {
      await cleanup();
    }
    await fsp.writeFile(marker, tag);
    return dir;
  });
}

export async function removeImageRootfs(deps: RootfsDeps, imageId: string): Promise<void> {
  const dir = rootfsDir(deps.storageRoot, imageId);
  await fsp.rm(`${dir}.json`, { force: true });
  if (
    await fsp.lstat(dir).then(
      () => true,
      () => false,
    )
  )
    await removeTreeInUserns(deps.tools, dir);
}
