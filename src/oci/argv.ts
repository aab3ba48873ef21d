/**
 * runc's command line, parsed strictly. Callers build it with runc in mind: conmon passes
 * `[--root R] [--log L --log-format json] [--systemd-cgroup] create --bundle B --pid-file F
 * [--console-socket S] ID`, containerd's go-runc `--root R --log L --log-format json
 * [--systemd-cgroup] [--rootless=true] create --bundle B --pid-file F ID`, `kill [--all] ID 15`,
 * `exec --process F --detach --pid-file F ID`, `update --resources - ID`. runc reads them with
 * urfave/cli v1 over Go's flag package, so a flag may have one dash or two and its value may
 * follow `=` or be the next argument (`-pid-file F`, `--pid-file=F`); a boolean takes `=false`.
 * commander would read `-pid-file` as `-p -i -d ...`: hence this parser, which knows every flag
 * of every command and refuses anything else (a flag runc would not know is a usage error there
 * too). What is passed on to runc is rebuilt from what was parsed (`--name=value`), so runc sees
 * exactly the flags moat judged.
 */
import { OciError } from './errors.js';

type Kind = 'bool' | 'value' | 'multi';

interface FlagDef {
  kind: Kind;
  alias?: string;
}

type FlagTable = Record<string, FlagDef>;

/** runc's global flags, and moat's own `--runtime-binary` (never passed on). */
export const GLOBAL_FLAGS: FlagTable = {
  root: { kind: 'value' },
  log: { kind: 'value' },
  'log-format': { kind: 'value' },
  debug: { kind: 'bool' },
  'systemd-cgroup': { kind: 'bool' },
  rootless: { kind: 'value' },
  criu: { kind: 'value' },
  'runtime-binary': { kind: 'value' },
  help: { kind: 'bool', alias: 'h' },
  version: { kind: 'bool', alias: 'v' },
};

const CREATE_FLAGS: FlagTable = {
  bundle: { kind: 'value', alias: 'b' },
  'console-socket': { kind: 'value' },
  'pid-file': { kind: 'value' },
  'no-pivot': { kind: 'bool' },
  'no-new-keyring': { kind: 'bool' },
  'preserve-fds': { kind: 'value' },
};

interface CommandDef {
  flags: FlagTable;
  /** Positional arguments: the first is the container ID when `id` is set. */
  min: number;
  max: number;
  id: boolean;
  /** exec: everything after the ID is the command, flags included (runc's SkipArgReorder). */
  stopAtPositional?: boolean;
}

export const COMMANDS: Record<string, CommandDef> = {
  create: { flags: CREATE_FLAGS, min: 1, max: 1, id: true },
  run: {
    flags: {
      ...CREATE_FLAGS,
      detach: { kind: 'bool', alias: 'd' },
      keep: { kind: 'bool' },
      'no-subreaper': { kind: 'bool' },
    },
    min: 1,
    max: 1,
    id: true,
  },
  start: { flags: {}, min: 1, max: 1, id: true },
  state: { flags: {}, min: 1, max: 1, id: true },
  kill: { flags: { all: { kind: 'bool', alias: 'a' } }, min: 1, max: 2, id: true },
  delete: { flags: { force: { kind: 'bool', alias: 'f' } }, min: 1, max: 1, id: true },
  pause: { flags: {}, min: 1, max: 1, id: true },
  resume: { flags: {}, min: 1, max: 1, id: true },
  ps: { flags: { format: { kind: 'value', alias: 'f' } }, min: 1, max: Infinity, id: true },
  exec: {
    flags: {
      'console-socket': { kind: 'value' },
      cwd: { kind: 'value' },
      env: { kind: 'multi', alias: 'e' },
      tty: { kind: 'bool', alias: 't' },
      user: { kind: 'value', alias: 'u' },
      'additional-gids': { kind: 'multi', alias: 'g' },
      process: { kind: 'value', alias: 'p' },
      detach: { kind: 'bool', alias: 'd' },
      'pid-file': { kind: 'value' },
      'process-label': { kind: 'value' },
      apparmor: { kind: 'value' },
      'no-new-privs': { kind: 'bool' },
      cap: { kind: 'multi', alias: 'c' },
      'preserve-fds': { kind: 'value' },
      cgroup: { kind: 'multi' },
      'ignore-paused': { kind: 'bool' },
    },
    min: 1,
    max: Infinity,
    id: true,
    stopAtPositional: true,
  },
  update: {
    flags: Object.fromEntries(
      [
        ['resources', 'r'],
        ['blkio-weight'],
        ['cpu-period'],
        ['cpu-quota'],
        ['cpu-share'],
        ['cpu-rt-period'],
        ['cpu-rt-runtime'],
        ['cpuset-cpus'],
        ['cpuset-mems'],
        ['kernel-memory'],
        ['kernel-memory-tcp'],
        ['memory'],
        ['memory-reservation'],
        ['memory-swap'],
        ['pids-limit'],
        ['l3-cache-schema'],
        ['mem-bw-schema'],
      ].map(([n, a]) => [n, { kind: 'value', ...(a ? { alias: a } : {}) } as FlagDef]),
    ),
    min: 1,
    max: 1,
    id: true,
  },
  events: {
    flags: { interval: { kind: 'value' }, stats: { kind: 'bool' } },
    min: 1,
    max: 1,
    id: true,
  },
  list: {
    flags: { format: { kind: 'value', alias: 'f' }, quiet: { kind: 'bool', alias: 'q' } },
    min: 0,
    max: 0,
    id: false,
  },
  features: { flags: {}, min: 0, max: 0, id: false },
};

/** Commands that would start a container from a bundle without moat's judgement: refused. */
export const REFUSED_COMMANDS: Record<string, string> = {
  restore: 'restore creates a container from a bundle and a checkpoint, which moat does not judge',
  checkpoint: 'checkpoint is not supported by moat-runtime',
};

export type FlagValue = string | boolean | string[];

export interface Parsed {
  flags: Map<string, FlagValue>;
  positional: string[];
}

function usage(msg: string): never {
  throw new OciError('OCI_USAGE', msg);
}

/** Go's strconv.ParseBool, which urfave/cli uses for `--flag=VALUE` on a boolean. */
function parseBool(name: string, v: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  return usage(`invalid boolean value ${JSON.stringify(v)} for -${name}`);
}

/**
 * Parse `tokens` against `table`. `reorder`: flags may follow positional arguments (urfave/cli
 * v1 moves them in front); otherwise the first positional argument ends the flags.
 */
export function parseFlags(tokens: readonly string[], table: FlagTable, reorder: boolean): Parsed {
  const flags = new Map<string, FlagValue>();
  const positional: string[] = [];
  const byAlias = new Map(
    Object.entries(table).flatMap(([n, d]) => [[n, n] as const, ...(d.alias ? [[d.alias, n] as const] : [])]),
  );
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '--') {
      positional.push(...tokens.slice(i + 1));
      break;
    }
    if (!t.startsWith('-') || t === '-') {
      positional.push(t);
      if (!reorder) {
        positional.push(...tokens.slice(i + 1));
        break;
      }
      continue;
    }
    const body = t.startsWith('--') ? t.slice(2) : t.slice(1);
    if (!body || body.startsWith('-') || body.startsWith('=')) usage(`bad flag syntax: ${t}`);
    const eq = body.indexOf('=');
    const given = eq < 0 ? body : body.slice(0, eq);
    const name = byAlias.get(given);
    if (name === undefined) usage(`flag provided but not defined: -${given}`);
    const def = table[name];
    let value: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
    if (def.kind === 'bool') {
      flags.set(name, value === undefined ? true : parseBool(given, value));
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= tokens.length) usage(`flag needs an argument: -${given}`);
      value = tokens[++i];
    }
    if (def.kind === 'multi') {
      const prev = flags.get(name);
      flags.set(name, [...(Array.isArray(prev) ? prev : []), value]);
    } else flags.set(name, value);
  }
  return { flags, positional };
}

/** The flags as runc reads them back: `--name=value`, `--name` for true, `--name=false`. */
export function flagArgs(flags: Map<string, FlagValue>, omit: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const [name, v] of flags) {
    if (omit.includes(name)) continue;
    if (v === true) out.push(`--${name}`);
    else if (v === false) out.push(`--${name}=false`);
    else if (Array.isArray(v)) for (const x of v) out.push(`--${name}=${x}`);
    else out.push(`--${name}=${v}`);
  }
  return out;
}

/** runc 1.1's check (libcontainer/factory_linux.go validateID), and no leading dash (see parse). */
export function validateId(id: string): string {
  if (!/^[\w+,\-.]+$/.test(id) || id === '.' || id === '..')
    throw new OciError('OCI_INVALID_ID', `invalid id format: ${JSON.stringify(id.slice(0, 200))}`);
  if (id.startsWith('-') || id.length > 1024)
    throw new OciError(
      'OCI_INVALID_ID',
      `invalid id format: ${JSON.stringify(id.slice(0, 200))} (starts with "-" or is longer than 1024)`,
    );
  return id;
}

export interface Invocation {
  global: Map<string, FlagValue>;
  /** undefined: only global flags (`--version`, `--help`). */
  command?: string;
  flags: Map<string, FlagValue>;
  /** The positional arguments of the command: ID first where the command takes one. */
  args: string[];
}

export function str(flags: Map<string, FlagValue>, name: string): string | undefined {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function bool(flags: Map<string, FlagValue>, name: string): boolean {
  return flags.get(name) === true;
}

/** Parse a whole command line (argv without node and the script). */
export function parseArgv(argv: readonly string[]): Invocation {
  const g = parseFlags(argv, GLOBAL_FLAGS, false);
  const [command, ...rest] = g.positional;
  if (command === undefined) return { global: g.flags, flags: new Map(), args: [] };
  if (Object.hasOwn(REFUSED_COMMANDS, command))
    throw new OciError('OCI_UNSUPPORTED', REFUSED_COMMANDS[command]);
  const def = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!def) usage(`No help topic for '${command.slice(0, 100)}'`);
  const c = parseFlags(rest, def.flags, !def.stopAtPositional);
  const n = c.positional.length;
  if (n < def.min || n > def.max)
    usage(
      `${command}: "${command}" requires ${def.min === def.max ? 'exactly' : def.max === Infinity ? 'a minimum of' : 'between'} ${def.min}${def.max !== def.min && def.max !== Infinity ? ` and ${def.max}` : ''} argument(s)`,
    );
  if (def.id) validateId(c.positional[0]);
  return { global: g.flags, command, flags: c.flags, args: c.positional };
}
