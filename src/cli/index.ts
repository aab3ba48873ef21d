/**
 * `moat`: the command line. Each command turns its flags into one request to the router (see
 * app.ts) and prints the result; errors print message + hint (or JSON) and map to exit statuses.
 */
import { Command, CommanderError, Option } from 'commander';
import { registerContainerCommands } from './containers.js';
import { registerContainerGroup } from './container-group.js';
import { registerImageCommands } from './images.js';
import { registerRegistryCommands } from './registry.js';
import { registerSystemCommands } from './system.js';
import { registerPolicyCommands } from './policy.js';
import { registerTrustCommands } from './trust.js';
import { registerScanCommands } from './scan.js';
import { registerFileCommands } from './files.js';
import { registerEvents } from './events.js';
import { registerGenerate } from './generate.js';
import { registerVolumeCommands } from './volumes.js';
import { registerNetworkCommands } from './networks.js';
import { registerSeccompCommands } from './seccomp.js';
import { registerApparmorCommands } from './apparmor.js';
import { applyTrustOption, registerSignCommands, registerTrustShow } from './sign.js';
import { defaultLogLevel, setLogLevel } from './app.js';
import { printError } from './report.js';
import { fromCommander, resolveCommandLine, wantsJson, type CommandLine } from './usage.js';
import { mark } from '../util/timing.js';

/** Set by commands: the exit status to return when no error was thrown. */
export interface CliState {
  exitCode: number;
  json: boolean;
}

/** A part of the command tree: the top-level words it adds and how it adds them. */
export interface ProgramPart {
  readonly names: readonly string[];
  register(program: Command, state: CliState): void;
}

/**
 * The command tree's parts, in the order they are added (the order `moat --help` lists them),
 * each with the top-level commands and groups it adds (test/unit/cli/program-parts.test.ts checks
 * the words against what each part registers). `image` is a group three parts add to.
 */
export const PROGRAM_PARTS: readonly ProgramPart[] = [
  {
    names: [
      ...['run', 'create', 'start', 'attach', 'ps', 'logs', 'stop', 'kill', 'rm', 'exec', 'inspect'],
      ...['wait', 'top', 'stats', 'pause', 'unpause', 'rename', 'update', 'restart', 'port'],
    ],
    register: registerContainerCommands,
  },
  { names: ['images', 'rmi', 'load', 'import', 'tag', 'image'], register: registerImageCommands },
  { names: ['pull', 'push', 'save', 'login', 'logout', 'image'], register: registerRegistryCommands },
  { names: ['info', 'system'], register: registerSystemCommands },
  { names: ['policy'], register: registerPolicyCommands },
  { names: ['trust'], register: (p, s) => registerTrustShow(registerTrustCommands(p, s), s) },
  { names: ['key', 'sign', 'attest', 'verify'], register: registerSignCommands },
  { names: ['scan', 'sbom', 'check'], register: registerScanCommands },
  { names: ['cp', 'diff', 'export', 'commit', 'history', 'image'], register: registerFileCommands },
  { names: ['events'], register: registerEvents },
  { names: ['generate'], register: registerGenerate },
  { names: ['volume'], register: registerVolumeCommands },
  { names: ['network'], register: registerNetworkCommands },
  { names: ['seccomp'], register: registerSeccompCommands },
  { names: ['apparmor'], register: registerApparmorCommands },
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

/**
 * The command tree for a command line (`argv` without node and script): only the parts that add
 * the command it asks for, where it names one (building the whole tree is most of the CLI's own
 * start-up work: ~20 ms of 15 parts and their options), else the whole tree (help, suggestions
 * for a mistyped word). The `container` group's commands only when a word is `container` (the
 * group is listed either way). Without `argv`: the whole tree with the group's commands.
 */
export function buildProgram(state: CliState, argv?: string[]): Command {
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
  const word = argv && commandWord(argv);
  if (word === 'container') {
    registerContainerGroup(program, state, true);
    return program;
  }
  const asked = word === undefined ? [] : PROGRAM_PARTS.filter((p) => p.names.includes(word));
  for (const part of asked.length ? asked : PROGRAM_PARTS) part.register(program, state);
  if (!asked.length) registerContainerGroup(program, state, !argv || argv.includes('container'));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  mark('cli main');
  const state: CliState = { exitCode: 0, json: false };
  const program = buildProgram(state, argv.slice(2));
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
