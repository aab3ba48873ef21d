/**
 * Scripts moat runs as separate processes, found from dist/runtime/ and from the bundle in
 * dist/bundle/ alike (this module sits one level below dist/ in both: `..` is dist/).
 */
import { fileURLToPath } from 'node:url';

/** runc's createRuntime hook that starts a container's network stack (network/hook.ts). */
export const NETWORK_HOOK = fileURLToPath(new URL('../runtime/network/hook.js', import.meta.url));
