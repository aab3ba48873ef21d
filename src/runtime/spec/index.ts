/**
 * OCI spec generation: a pure function of (run options, image config, ID maps, host facts). No
 * I/O in spec/, so every hardening default is asserted by unit tests without starting a container.
 * Validation is an ordered list of named checks; warnings are kept apart from errors (checks.ts).
 * Split by concern as podman's specgen/generate: user.ts (user and IDs), process.ts (command and
 * environment), namespaces.ts (namespaces, hostname, sysctls), mounts.ts, security.ts (caps,
 * seccomp, no_new_privs, masked paths; AppArmor goes there), landlock.ts (the write set moat-init
 * applies), resources.ts (rlimits, OOM score), checks.ts, generate.ts (the assembly). This file is
 * the room's public face.
 */
export { generateSpec } from './generate.js';
export { resolveUser, resolveGroupAdd, type UserIds } from './user.js';
export { DEFAULT_PATH } from './process.js';
export { SYSCTLS } from './namespaces.js';
export { INIT_PATH } from './mounts.js';
export { MASKED_PATHS, READONLY_PATHS } from './security.js';
export { SPEC_CHECKS, SPEC_WARNINGS, type SpecCheck, type SpecWarning } from './checks.js';
export type {
  ImageRunConfig,
  LandlockFacts,
  LandlockMode,
  SpecHost,
  SpecInput,
  SpecPaths,
  SpecResult,
} from './types.js';
export {
  LANDLOCK_ANNOTATION,
  LANDLOCK_SYSCALLS,
  execPrefix,
  landlockOfSpec,
  seccompAllowsLandlock,
  writablePaths,
} from './landlock.js';
