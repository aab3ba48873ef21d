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

/**
 * The whole command tree; given the command line (`argv` without node and script), the `container`
 * group's commands only when a word of it is `container` (the group is listed either way).
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
  registerContainerCommands(program, state);
  registerImageCommands(program, state);
  registerRegistryCommands(program, state);
  registerSystemCommands(program, state);
  registerPolicyCommands(program, state);
  registerTrustShow(registerTrustCommands(program, state), state);
  registerSignCommands(program, state);
  registerScanCommands(program, state);
  registerFileCommands(program, state);
  registerEvents(program, state);
  registerGenerate(program, state);
  registerVolumeCommands(program, state);
  registerNetworkCommands(program, state);
  registerSeccompCommands(program, state);
  registerApparmorCommands(program, state);
  registerContainerGroup(program, state, !argv || argv.includes('container'));
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
