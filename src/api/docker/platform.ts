/**
 * The host's platform in Docker's words (`linux/amd64`, ...), for version and info, and the
 * `platform` of a pull or create: moat pulls and runs images for this host only.
 */
import { arch } from 'node:os';
import { refuse } from './handler.js';

export const dockerArch = (): string =>
  ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' })[arch()] ?? arch();

/** `platform` of a pull or create: moat pulls and runs images for this host only. */
export function checkPlatform(platform: string | null): void {
  if (!platform) return;
  const host = `linux/${dockerArch()}`;
  if (platform !== host && !platform.startsWith(`${host}/`))
    refuse(`--platform ${platform.slice(0, 40)}`, `moat pulls and runs images for this host (${host})`);
}
