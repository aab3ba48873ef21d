/**
 * generateSpec: resolves the process (user, command, environment), runs the checks, then
 * assembles the OCI spec from the concern-sized sections (user.ts, process.ts, namespaces.ts,
 * mounts.ts, security.ts, resources.ts). The key order here is the order of config.json.
 */
import { RuntimeError } from '../errors.js';
import type { OciSpec } from '../oci.js';
import { checkErrors, specWarnings } from './checks.js';
import { checkExecHook, initArgs, LANDLOCK_ANNOTATION, landlockFacts } from './landlock.js';
import { INIT_PATH, initBinary, mounts } from './mounts.js';
import { hostnameOf, namespaces, sysctls } from './namespaces.js';
import { commandLine, DEFAULT_PATH, mergeEnv } from './process.js';
import { buildRlimits, oomScoreAdj } from './resources.js';
import {
  apparmorSection,
  capabilities,
  MASKED_PATHS,
  NO_NEW_PRIVILEGES,
  READONLY_PATHS,
  seccompSection,
} from './security.js';
import type { SpecInput, SpecResult } from './types.js';
import { additionalGidsOf, mappedCounts, resolveGroupAdd, resolveUser } from './user.js';

/** Generate the hardened OCI spec, or throw RUNTIME_INVALID_OPTION listing every failed check. */
export function generateSpec(input: SpecInput): SpecResult {
  const { opts, image, idmaps, host, paths, id } = input;
  const errors: string[] = [];
  const ids = mappedCounts(idmaps);
  const gidMapped = (g: number) => g < ids.gids;

  const user = resolveUser(opts.user ?? image.User, input.passwd, input.group);
  const args = commandLine(opts, image);
  const hostname = hostnameOf(opts, id);
  let env: string[] = [];
  try {
    env = mergeEnv(
      [
        `PATH=${DEFAULT_PATH}`,
        `HOSTNAME=${hostname}`,
        `HOME=${user.home}`,
        ...(opts.tty ? ['TERM=xterm'] : []),
        ...(image.Env ?? []),
      ],
      opts.env,
    );
  } catch (e) {
    errors.push((e as Error).message);
  }
  const cwd = opts.workdir ?? (image.WorkingDir || '/');

  errors.push(...checkErrors({ opts, host, idmaps, ids, user, args, cwd, seccomp: input.seccomp }));
  const groupAdd = resolveGroupAdd(opts.groupAdd, input.group, gidMapped, errors);
  const rlimits = buildRlimits(opts, host, errors, input.defaultNproc);
  const landlock = landlockFacts(opts, host, input.seccomp, image);
  const warnings = specWarnings({ opts, idmaps, seccomp: input.seccomp, landlock, host });
  if (errors.length) {
    throw new RuntimeError('RUNTIME_INVALID_OPTION', errors.join('; '), { details: { errors } });
  }
  const additionalGids = additionalGidsOf(user, groupAdd, gidMapped);
  // moat-init first when it applies Landlock or is the --init (mounts.ts picks the binary).
  const init = initBinary(input, landlock.enabled);
  const viaMoatInit = init !== undefined && init === host.moatInit;
  const argv = !init
    ? args
    : viaMoatInit
      ? [INIT_PATH, ...initArgs(landlock, opts.init), '--', ...args]
      : [INIT_PATH, '--', ...args];
  const createRuntime = input.hooks ?? [];
  const createContainer = viaMoatInit ? [checkExecHook(host.moatInit!, paths.rootfs, cwd, env, args[0])] : [];
  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: Boolean(opts.tty),
      user: { uid: user.uid, gid: user.gid, ...(additionalGids.length ? { additionalGids } : {}) },
      args: argv,
      env,
      cwd,
      capabilities: capabilities(opts),
      rlimits,
      noNewPrivileges: NO_NEW_PRIVILEGES,
      ...oomScoreAdj(opts),
      ...apparmorSection(input.apparmorProfile),
    },
    root: { path: paths.rootfs, readonly: !opts.readWrite },
    hostname,
    mounts: mounts(input, gidMapped, landlock.enabled),
    linux: {
      namespaces: namespaces(),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      sysctl: sysctls(opts),
      ...seccompSection(input.seccomp),
    },
    annotations: {
      'io.moat.id': id,
      'io.moat.image': opts.image,
      [LANDLOCK_ANNOTATION]: JSON.stringify(landlock),
    },
    ...(createRuntime.length || createContainer.length
      ? {
          hooks: {
            ...(createRuntime.length ? { createRuntime } : {}),
            ...(createContainer.length ? { createContainer } : {}),
          },
        }
      : {}),
  };
  return { spec, warnings, landlock, command: opts.init ? [INIT_PATH, '--', ...args] : args };
}
