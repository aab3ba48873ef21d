/**
 * `moat`: the command line. Each command turns its flags into one request to the router (see
 * app.ts) and prints the result; errors print message + hint (or JSON) and map to exit statuses.
 */
import { Command, CommanderError, Option } from 'commander';
import { applyTrustOption } from './sign.js';
import { defaultLogLevel, setLogLevel } from './app.js';
import { printError } from './report.js';
import { fromCommander, resolveCommandLine, wantsJson, type CommandLine } from './usage.js';
import { mark } from '../util/timing.js';

/** Set by commands: the exit status to return when no error was thrown. */
export interface CliState {
  exitCode: number;
  json: boolean;
}

type Register = (program: Command, state: CliState) => void;

/** A part of the command tree: the top-level words it adds, and its module, loaded when asked for. */
export interface ProgramPart {
  readonly names: readonly string[];
  load(): Promise<Register>;
}

/**
 * The command tree's parts, in the order they are added (the order `moat --help` lists them),
 * each with the top-level commands and groups it adds (test/unit/cli/program-parts.test.ts checks
 * the words against what each part registers). `image` is a group three parts add to. A part's
 * module is loaded only when a command line asks for one of its words (or for the whole tree):
 * loading and building every part was most of the CLI's own start-up work.
 */
export const PROGRAM_PARTS: readonly ProgramPart[] = [
  {
    names: [
      ...['run', 'create', 'start', 'attach', 'ps', 'logs', 'stop', 'kill', 'rm', 'exec', 'inspect'],
      ...['wait', 'top', 'stats', 'pause', 'unpause', 'rename', 'update', 'restart', 'port'],
    ],
    load: async () => (await import('./containers.js')).registerContainerCommands,
  },
  {
    names: ['images', 'rmi', 'load', 'import', 'tag', 'image'],
    load: async () => (await import('./images.js')).registerImageCommands,
  },
  {
    names: ['pull', 'push', 'save', 'login', 'logout', 'image'],
    load: async () => (await import('./registry.js')).registerRegistryCommands,
  },
  { names: ['info', 'system'], load: async () => (await import('./system.js')).registerSystemCommands },
  { names: ['policy'], load: async () => (await import('./policy.js')).registerPolicyCommands },
  {
    names: ['trust'],
    load: async () => {
      const [{ registerTrustCommands }, { registerTrustShow }] = await Promise.all([
        import('./trust.js'),
        import('./sign.js'),
      ]);
      return (p, s) => registerTrustShow(registerTrustCommands(p, s), s);
    },
  },
  {
    names: ['key', 'sign', 'attest', 'verify'],
    load: async () => (await import('./sign.js')).registerSignCommands,
  },
  { names: ['scan', 'sbom', 'check'], load: async () => (await import('./scan.js')).registerScanCommands },
  {
    names: ['cp', 'diff', 'export', 'commit', 'history', 'image'],
    load: async () => (await import('./files.js')).registerFileCommands,
  },
  { names: ['events'], load: async () => (await import('./events.js')).registerEvents },
  { names: ['generate'], load: async () => (await import('./generate.js')).registerGenerate },
  { names: ['volume'], load: async () => (await import('./volumes.js')).registerVolumeCommands },
  { names: ['network'], load: async () => (await import('./networks.js')).registerNetworkCommands },
  { names: ['seccomp'], load: async () => (await import('./seccomp.js')).registerSeccompCommands },
  { names: ['apparmor'], load: async () => (await import('./apparmor.js')).registerApparmorCommands },
];

/**
 * The command a command line asks for: its first word that is not a global option, or undefined
 * when there is none or a global option other than --log-level comes first (--help, --version:
 * the whole tree answers those).
 */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--log-level') i++;
    else if (a.startsWith('--log-level=')) continue;
    else if (a.startsWith('-')) return undefined;
    else return a;
  }
  return undefined;
}

/** The parts of the tree a command line needs, loaded (see buildProgram). */
export interface LoadedParts {
  registers: Register[];
  /** The `container` group: with its commands, alone (listed), or not at all. */
  group?: (program: Command, state: CliState, withVerbs: boolean) => void;
  groupVerbs: boolean;
}

/**
 * Loads the parts a command line (`argv` without node and script) asks for: only those that add
 * the command it names, where it names one, else the whole tree (help, suggestions for a mistyped
 * word) with the `container` group, whose commands only when a word is `container`. Without
 * `argv`: the whole tree with the group's commands.
 */
export async function loadParts(argv?: readonly string[]): Promise<LoadedParts> {
  const word = argv && commandWord(argv);
  const group = async () => (await import('./container-group.js')).registerContainerGroup;
  if (word === 'container') return { registers: [], group: await group(), groupVerbs: true };
  const asked = word === undefined ? [] : PROGRAM_PARTS.filter((p) => p.names.includes(word));
  const registers = await Promise.all((asked.length ? asked : PROGRAM_PARTS).map((p) => p.load()));
  if (asked.length) return { registers, groupVerbs: false };
  return { registers, group: await group(), groupVerbs: !argv || argv.includes('container') };
}

/** The command tree made of the parts loaded (loadParts). */
export function buildProgram(state: CliState, parts: LoadedParts): Command {
  const program = new Command('moat')
    .description('Rootless, security-hardened containers on runc, with a Rego policy on every request')
    .version('0.1.0')
    .addOption(
      new Option('--log-level <level>', "moat's own log level (JSON on stderr)")
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
        .default(defaultLogLevel()),
    )
    .enablePositionalOptions()
    .showSuggestionAfterError()
    // Commander's own error lines are not printed: main() reports them as CLI_USAGE with a hint.
    .configureOutput({ outputError: () => {} })
    .exitOverride()
    .hook('preAction', (cmd, action) => {
      setLogLevel(cmd.opts().logLevel as string);
      // --trust FILE (run, create, pull, sign, verify, trust show): the trust policy for this command
      applyTrustOption(action);
    });
  for (const register of parts.registers) register(program, state);
  parts.group?.(program, state, parts.groupVerbs);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  mark('cli main');
  const state: CliState = { exitCode: 0, json: false };
  const program = buildProgram(state, await loadParts(argv.slice(2)));
  let line: CommandLine = { path: [program], rest: argv.slice(2) };
  try {
    line = resolveCommandLine(program, argv.slice(2));
    state.json = wantsJson(line);
    await program.parseAsync(argv);
    return state.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return 0;
      return printError(fromCommander(e, line), state);
    }
    return printError(e, state);
  }
}

/** Print an error as the CLI does (message, code and hint, or JSON) and return its exit status. */
export function reportError(e: unknown, state: CliState): number {
  return printError(e, state);
}
