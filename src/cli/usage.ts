/**
 * Usage errors before and around commander: which command a command line names (so an unknown
 * one is refused even with --help, and docker commands moat lacks are named as such rather than
 * "corrected" into a different command), whether it asked for `--format json`, and commander's
 * own errors turned into CLI_USAGE with a hint.
 */
import type { Command, CommanderError, Option } from 'commander';
import { UsageError } from './errors.js';

/**
 * Docker commands moat does not have, with what to do instead where there is something. They
 * are never "corrected" into a moat command that merely looks alike (`stats` is not `start`).
 */
const DOCKER_ONLY: Record<string, string | undefined> = {
  build:
    'moat builds no images: build elsewhere, then moat load -i (an OCI or docker save tar) or moat import ROOTFS.tar NAME',
  buildx: undefined,
  compose: undefined,
  config: undefined,
  context: undefined,
  manifest: undefined,
  network:
    'moat has no user-defined networks yet: run --network slirp4netns|pasta gives outbound access and -p publishes ports',
  node: undefined,
  plugin: undefined,
  search: undefined,
  secret: undefined,
  service: 'moat system service serves the API',
  stack: undefined,
  swarm: undefined,
  trust: undefined,
  version: 'moat --version prints the version; moat info describes the host',
};

/** Docker flags moat lacks on purpose, and why. */
const DOCKER_FLAGS: Record<string, string> = {
  '--privileged': 'moat never runs privileged containers: grant single capabilities with --cap-add',
};

const usage = (message: string, hint: string) => new UsageError(message, { hint });

/** Optimal string alignment distance (Levenshtein plus adjacent swaps), small strings only. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * A command the user probably meant: one typo away (two for long names), and only when no
 * other command, nor a docker command moat lacks, is as close (`stat`: `start` or `stats`?).
 */
export function suggestCommand(
  word: string,
  names: string[],
  dockerOnly = Object.keys(DOCKER_ONLY),
): string | undefined {
  const w = word.toLowerCase();
  const limit = w.length >= 7 ? 2 : w.length >= 3 ? 1 : 0;
  let best: { name: string; d: number } | undefined;
  let tie = false;
  for (const n of names) {
    const d = editDistance(w, n);
    if (d > limit || (best && d > best.d)) continue;
    tie = best !== undefined && d === best.d && n !== best.name;
    if (!best || d < best.d) best = { name: n, d };
  }
  // as close to two commands (`stat`: start or stats?): no guess
  if (!best || tie) return undefined;
  if (dockerOnly.some((n) => editDistance(w, n) <= best.d)) return undefined;
  return best.name;
}

function names(cmd: Command): string[] {
  return [cmd.name(), ...cmd.aliases()];
}

function findOption(cmd: Command, flag: string): Option | undefined {
  return (cmd.options as readonly Option[]).find((o) => o.long === flag || o.short === flag);
}

export interface CommandLine {
  /** From the program to the command that runs (the program alone for `moat`, `moat --help`). */
  path: Command[];
  /** The leaf's own arguments (everything after its name). */
  rest: string[];
}

/**
 * Which command `args` (argv without node and the script) names. Throws CLI_USAGE for a command
 * that does not exist, before commander could print the parent's help for `moat stats --help`.
 */
export function resolveCommandLine(program: Command, args: string[]): CommandLine {
  const path = [program];
  let cmd = program;
  let i = 0;
  while (i < args.length && cmd.commands.length > 0) {
    const a = args[i];
    if (a === '--') break;
    if (a.startsWith('-')) {
      // An option of a command that has subcommands: skip it, and its value if it takes one.
      const opt = a.includes('=') ? undefined : findOption(cmd, a);
      i += opt?.required ? 2 : 1;
      continue;
    }
    const isHelp = a === 'help';
    const target = isHelp ? args[i + 1] : a;
    if (target === undefined || target.startsWith('-')) break;
    const sub = cmd.commands.find((c) => names(c).includes(target));
    if (!sub) {
      const where = path
        .slice(1)
        .map((c) => c.name())
        .concat(target)
        .join(' ');
      const top = cmd === program;
      const known = cmd.commands.flatMap(names);
      const docker = top ? DOCKER_ONLY[target.toLowerCase()] : undefined;
      const guess = suggestCommand(target, known, top ? undefined : []);
      const listed = top
        ? 'moat --help lists the commands'
        : `moat ${path
            .slice(1)
            .map((c) => c.name())
            .join(' ')} --help lists its commands`;
      const hint =
        top && target.toLowerCase() in DOCKER_ONLY
          ? `moat has no ${target} command (yet)${docker ? `: ${docker}` : `; ${listed}`}`
          : guess
            ? `did you mean moat ${path
                .slice(1)
                .map((c) => `${c.name()} `)
                .join('')}${guess}? ${listed}`
            : `moat has no such command; ${listed}`;
      throw usage(`unknown command '${where}'`, hint);
    }
    if (isHelp) return { path: [...path, sub], rest: ['--help'] };
    path.push(sub);
    cmd = sub;
    i++;
  }
  return { path, rest: args.slice(i) };
}

/** Did the command line ask for JSON output (`--format json`) of a command that has `--format`? */
export function wantsJson(line: CommandLine): boolean {
  const leaf = line.path[line.path.length - 1];
  if (!findOption(leaf, '--format')) return false;
  const end = line.rest.indexOf('--');
  const args = end < 0 ? line.rest : line.rest.slice(0, end);
  return args.some((a, i) => a === '--format=json' || (a === '--format' && args[i + 1] === 'json'));
}

/** Commander's error as CLI_USAGE: its message without "error: ", a hint that names the command. */
export function fromCommander(e: CommanderError, line: CommandLine): UsageError {
  const [line0, ...more] = e.message.replace(/^error: /, '').split('\n');
  const first = line0.replace(/\.$/, '');
  const suggestion = more
    .join(' ')
    .replace(/^\(|\)$/g, '')
    .trim();
  const cmd = line.path
    .slice(1)
    .map((c) => c.name())
    .join(' ');
  const listed = `moat${cmd ? ` ${cmd}` : ''} --help lists ${line.path.length > 1 ? 'its options' : 'the commands and options'}`;
  const flag = /^unknown option '([^']+)'/.exec(first)?.[1];
  const docker = flag ? DOCKER_FLAGS[flag.split('=')[0]] : undefined;
  // moat's own global options are positional (they go before the command, as `run` passes
  // everything after its image on to the container): say so rather than "unknown".
  const global =
    flag && line.path.length > 1
      ? line.path[0].options.find((o) => o.long === flag.split('=')[0] || o.short === flag)
      : undefined;
  const hint = global
    ? `${global.long} is a global option: put it before the command (moat ${global.long} ${global.required ? 'VALUE ' : ''}${cmd} ...)`
    : docker
      ? `${docker}; ${listed}`
      : suggestion
        ? `${suggestion.replace(/^Did/, 'did')} ${listed}`
        : listed;
  return usage(first, hint);
}
