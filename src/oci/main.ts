/**
 * moat-runtime: a runc-compatible OCI runtime that podman (`--runtime`), containerd (`ctr run
 * --runc-binary`, the runc shim's BinaryName) and CRI-O call. `create` and `run` go through moat's
 * policy and hardening (create.ts); `exec` gets the same capability allow-list and
 * no_new_privs (exec.ts); `update` is judged by the policy (oci.update, update.ts); every other command passes through to runc with the same global flags
 * (the same `--root`), without loading the policy engine: this file imports only the parser, the
 * log writer and the spawner, and the rest is loaded when a command needs it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  bool,
  flagArgs,
  GLOBAL_FLAGS,
  parseArgv,
  parseFlags,
  str,
  type FlagValue,
  type Invocation,
} from './argv.js';
import { OciError } from './errors.js';
import { fatal, type RuncLog } from './log.js';
import { NESTED_ENV, runRuntime, runtimeBinary } from './runc.js';
import { mark } from '../util/timing.js';

const USAGE = `usage: moat-runtime [global options] command [command options] [arguments...]

An OCI runtime with runc's command line: create and run are decided by moat's policy and
hardened per ~/.config/moat/oci.json (mode enforce|audit|off), then handed to runc.

commands: create run start state kill delete exec ps pause resume update events list features
global options: --root DIR --log FILE --log-format text|json --debug --rootless true|false|auto
  --runtime-binary PATH (default: $MOAT_RUNTIME, else runc)
`;

function logOf(global: Map<string, FlagValue>): RuncLog {
  const format = str(global, 'log-format') ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new OciError('OCI_USAGE', `invalid log-format: ${format.slice(0, 100)}`);
  return { file: str(global, 'log'), format, debug: bool(global, 'debug') };
}

function version(runtime: string): string {
  const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
  const r = spawnSync(runtime, ['--version'], { encoding: 'utf8' });
  const inner = r.status === 0 ? r.stdout : `(${runtime} --version failed)\n`;
  return `moat-runtime version ${pkg.version}\nruntime: ${runtime}\n${inner}`;
}

/** runc's `features` JSON with moat's additions in its annotations. */
function features(runtime: string, globals: string[]): number {
  const r = spawnSync(runtime, [...globals, 'features'], { encoding: 'utf8', maxBuffer: 4 << 20 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr ?? '');
    return r.status ?? 1;
  }
  const j = JSON.parse(r.stdout) as { annotations?: Record<string, string> };
  j.annotations = {
    ...j.annotations,
    'org.moat.runtime': 'moat-runtime',
    'org.moat.runtime.policy': 'rego:data.moat.authz.decision (oci.create, oci.update)',
    'org.moat.runtime.hardening':
      'seccomp,capabilities,noNewPrivileges,maskedPaths,readonlyPaths,pids,landlock',
  };
  process.stdout.write(JSON.stringify(j, null, 4) + '\n');
  return 0;
}

async function dispatch(inv: Invocation, log: RuncLog): Promise<number> {
  const runtime = runtimeBinary(str(inv.global, 'runtime-binary'));
  if (bool(inv.global, 'version')) {
    process.stdout.write(version(runtime));
    return 0;
  }
  if (bool(inv.global, 'help') || inv.command === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  // runc's systemd cgroup driver talks to systemd: where systemd is not the init (sd_booted(3)'s
  // test), it cannot work, and the caller is told how to configure itself instead of runc's
  // D-Bus error. Where it is, the flag passes through (kubelet and containerd on most nodes).
  if (bool(inv.global, 'systemd-cgroup') && !existsSync('/run/systemd/system'))
    throw new OciError(
      'OCI_UNSUPPORTED',
      '--systemd-cgroup is not supported: systemd is not running on this host; configure the caller for cgroupfs (podman: cgroup_manager = "cgroupfs"; containerd: SystemdCgroup = false)',
    );
  const globals = flagArgs(inv.global, ['runtime-binary', 'help', 'version']);
  const preserveFds = Number(str(inv.flags, 'preserve-fds') ?? 0) || 0;
  switch (inv.command) {
    case 'create':
    case 'run': {
      const { prepareCreate, removeBundle } = await import('./create.js');
      const id = inv.args[0];
      const { dir } = await prepareCreate(id, str(inv.flags, 'bundle') ?? '.', log);
      const args = [...globals, inv.command, ...flagArgs(inv.flags, ['bundle']), `--bundle=${dir}`, id];
      const code = await runRuntime(runtime, args, preserveFds).catch(async (e: unknown) => {
        await removeBundle(dir);
        throw e;
      });
      // A create that failed leaves no container to read the directory; a foreground run that
      // ended (without --keep) has been deleted by runc.
      const foreground = inv.command === 'run' && !bool(inv.flags, 'detach') && !bool(inv.flags, 'keep');
      if ((inv.command === 'create' && code !== 0) || foreground) await removeBundle(dir);
      return code;
    }
    case 'exec': {
      const { prepareExec } = await import('./exec.js');
      const prepared = await prepareExec(inv, log);
      try {
        return await runRuntime(runtime, [...globals, 'exec', ...prepared.args], preserveFds);
      } finally {
        await prepared.cleanup();
      }
    }
    case 'update': {
      const { prepareUpdate } = await import('./update.js');
      const prepared = await prepareUpdate(inv, log, runtime, globals);
      try {
        return await runRuntime(runtime, [...globals, 'update', ...prepared.args], preserveFds);
      } finally {
        await prepared.cleanup();
      }
    }
    case 'features':
      return features(runtime, globals);
    default:
      return runRuntime(runtime, [...globals, inv.command, ...flagArgs(inv.flags), ...inv.args], preserveFds);
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = argv.slice(2);
  let log: RuncLog = { format: 'text', debug: false };
  try {
    // Recover --log for the report even when the command line is wrong further on.
    try {
      log = logOf(parseFlags(args, GLOBAL_FLAGS, false).flags);
    } catch {
      /* reported below */
    }
    if (process.env[NESTED_ENV])
      throw new OciError(
        'OCI_RUNTIME_MISSING',
        'moat-runtime was started as the runtime of moat-runtime: set --runtime-binary or MOAT_RUNTIME to runc',
      );
    const inv = parseArgv(args);
    log = logOf(inv.global);
    mark('oci: parsed');
    const code = await dispatch(inv, log);
    mark('oci: done');
    return code;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    fatal(log, `moat-runtime: ${msg}`);
    return 1;
  }
}
