/**
 * Filling a new volume from the image, as docker does: what the image has at the mount point (a
 * directory) is copied into the volume with its owners, modes and times, the mount point's own
 * owner and mode given to the volume's root. Both ends are moat's files workers (files/worker.ts)
 * in the container's user namespace: the image side resolves the path inside the image's root
 * (a symlink there cannot lead out of it), the volume side refuses unsafe entries.
 */
import type { UsernsTools } from '../../userns/exec.js';
import { startDirWorker } from '../container-fs.js';
import { isDirMode } from '../files/stat.js';
import { isMoatError } from '../../errors.js';

/**
 * Copy the image's `mountPath` (resolved inside `imageRoot`) into `volumeDir`. False when the image
 * has no directory there (nothing to copy).
 */
export async function populateVolume(
  deps: { tools: () => UsernsTools },
  imageRoot: string,
  mountPath: string,
  volumeDir: string,
): Promise<boolean> {
  const src = startDirWorker(deps, imageRoot, "the image's root", {
    kind: 'archive',
    path: `${mountPath.replace(/\/+$/, '')}/.`,
    followLink: true,
  });
  const stop = async () => {
    src.kill();
    await src.done.catch(() => {});
  };
  let isDir: boolean;
  try {
    isDir = isDirMode((await src.stat).mode);
  } catch (e) {
    await stop();
    // Nothing (or no directory: `PATH/.` of a file) at the mount point: an empty volume, as docker.
    if (isMoatError(e) && (e.code === 'RUNTIME_PATH_NOT_FOUND' || e.code === 'RUNTIME_COPY_REFUSED'))
      return false;
    throw e;
  }
  if (!isDir) {
    await stop();
    return false;
  }
  const dst = startDirWorker(
    deps,
    volumeDir,
    'the new volume',
    { kind: 'extract', path: '/', owner: 'archive', single: false, topAttributes: true },
    src.stdout,
  );
  await Promise.all([src.done, dst.done]);
  return true;
}
