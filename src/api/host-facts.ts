/**
 * Host paths as the policy sees them: canonical (what the kernel would resolve them to now,
 * symlinks and `..` included), beside the text the client sent; and the paths moat protects from
 * bind mounts, computed at run time from this process's own directories and the container engines'
 * sockets. Facts are reads: nothing here creates, opens or stats a file a client names beyond
 * resolving its path, and nothing throws for a path that does not exist.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { canonicalPath } from '../util/canonical-path.js';
import { configDir, defaultSocket, type MoatPaths } from '../util/paths.js';

export { canonicalPath };

/** How a route uses a host path it names (the policy's `facts.host_paths[].use`). */
export type HostPathUse = 'read' | 'write' | 'mount';

export interface HostPathFact {
  /** Canonical (see canonicalPath). */
  path: string;
  /** As the client sent it. */
  raw: string;
  use: HostPathUse;
  readonly?: boolean;
}

export function hostPath(raw: string, use: HostPathUse, readonly?: boolean): HostPathFact {
  return { path: canonicalPath(raw), raw, use, ...(readonly === undefined ? {} : { readonly }) };
}

/**
 * The sockets and state of container engines: a container given one of them drives that engine
 * (and through it the host). Checked as given and as resolved (/var/run is usually /run).
 */
const ENGINE_PATHS = [
  '/run/docker.sock',
  '/var/run/docker.sock',
  '/run/docker',
  '/var/run/docker',
  '/run/podman',
  '/var/run/podman',
  '/run/containerd',
  '/var/run/containerd',
  '/run/crio',
  '/var/run/crio',
  '/run/buildkit',
  '/var/run/buildkit',
  '/run/moat',
  '/var/lib/moat',
];

/** In the user's runtime directory: rootless engines, and the session's own control sockets. */
const USER_RUNTIME_PATHS = ['docker.sock', 'docker', 'podman', 'containerd', 'buildkit', 'bus', 'systemd'];

/** Sockets moat serves in this process (`moat system service --socket PATH`). */
const serviceSockets = new Set<string>();

/** Called by `moat system service` before it listens: that socket is protected like moat's own. */
export function protectServiceSocket(socket: string): void {
  serviceSockets.add(socket);
}

function unixPath(url: string | undefined): string | undefined {
  const m = /^unix:\/\/(\/.+)$/.exec(url ?? '');
  return m?.[1];
}

export interface ProtectedPaths {
  /** Never mounted, nor anything inside them: moat's directories and sockets, the engines'. */
  protected_paths: string[];
  /** Never mounted through a parent directory either (a socket in a read-only mount still connects). */
  protected_parents: string[];
  /** Never mounted read-write through a parent directory (moat's state, configuration, policy). */
  protected_parents_rw: string[];
}

function canonicalSet(paths: Iterable<unknown>): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    // Facts do not throw: a missing directory (an engine made without one) protects nothing more.
    if (typeof p !== 'string' || !p) continue;
    out.add(path.resolve(p));
    out.add(canonicalPath(p));
  }
  return [...out].sort();
}

/**
 * What the default policy protects from bind mounts, for this process now: moat's runtime, data
 * and config directories, its API socket(s), its policy, and the container engines' sockets.
 */
export function protectedPaths(
  paths: MoatPaths,
  policy: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ProtectedPaths {
  // Other engines' paths count where they exist now (moat's own always do, or will).
  const others: string[] = [...ENGINE_PATHS];
  for (const url of [env.DOCKER_HOST, env.CONTAINER_HOST]) {
    const p = unixPath(url);
    if (p) others.push(p);
  }
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && path.isAbsolute(xdg)) for (const n of USER_RUNTIME_PATHS) others.push(path.join(xdg, n));
  const sockets: unknown[] = [
    typeof paths.runtime === 'string' ? defaultSocket(paths) : undefined,
    ...serviceSockets,
    ...others.filter((p) => existsSync(p)),
  ];
  const state = [paths.data, configDir(env), ...policy];
  return {
    protected_paths: canonicalSet([paths.runtime, ...sockets, ...state]),
    protected_parents: canonicalSet([paths.runtime, ...sockets]),
    protected_parents_rw: canonicalSet(state),
  };
}
