/**
 * `moat`: the command line. Each command turns its flags into one request to the router (see
 * app.ts) and prints the result; errors print message + hint (or JSON) and map to exit statuses.
 */
import { Command, CommanderError, Option } from 'commander';
import { MoatError } from '../errors.js';
import { registerContainerCommands } from './containers.js';
import { registerImageCommands } from './images.js';
import { registerRegistryCommands } from './registry.js';
import { registerSystemCommands } from './system.js';
import { registerPolicyCommands } from './policy.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { setLogLevel } from './app.js';
import { mark } from '../util/timing.js';

/** Set by commands: the exit status to return when no error was thrown. */
export interface CliState {
  exitCode: number;
  json: boolean;
}

export function buildProgram(state: CliState): Command {
  const program = new Command('moat')
    .description('Rootless, security-hardened containers on runc, with a Rego policy on every request')
    .version('0.1.0')
    .addOption(
      new Option('--log-level <level>', "moat's own log level (JSON on stderr)")
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
        .default(process.env.MOAT_LOG_LEVEL ?? 'warn'),
    )
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride()
    .hook('preAction', (cmd) => {
      setLogLevel(cmd.opts().logLevel as string);
    });
  registerContainerCommands(program, state);
  registerImageCommands(program, state);
  registerRegistryCommands(program, state);
  registerSystemCommands(program, state);
  registerPolicyCommands(program, state);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  mark('cli main');
  const state: CliState = { exitCode: 0, json: false };
  const program = buildProgram(state);
  try {
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
      return e.exitCode === 0 ? 0 : EXIT.usage;
    }
    return reportError(e, state);
  }
}

export function reportError(e: unknown, state: CliState): number {
  if (e instanceof MoatError) {
    if (state.json) process.stdout.write(JSON.stringify({ error: e.toJSON() }, null, 2) + '\n');
    else {
      process.stderr.write(`moat: ${e.message} [${e.code}]\n`);
      if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    }
    const status =
      e.details && typeof e.details.exitCode === 'number' ? e.details.exitCode : exitCodeFor(e.code);
    return status;
  }
  const err = e as Error;
  if (state.json)
    process.stdout.write(JSON.stringify({ error: { code: 'INTERNAL', message: err.message } }) + '\n');
  else process.stderr.write(`moat: internal error: ${err.stack ?? String(e)}\n`);
  return EXIT.moat;
}
