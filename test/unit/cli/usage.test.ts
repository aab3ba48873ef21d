/** Usage errors: unknown commands (also with --help), docker habits, commander's errors, --format json. */
import { describe, expect, it } from 'vitest';
import { CommanderError } from 'commander';
import { buildProgram, loadParts } from '../../../src/cli/index.js';
import {
  editDistance,
  fromCommander,
  resolveCommandLine,
  suggestCommand,
  wantsJson,
} from '../../../src/cli/usage.js';
import type { MoatError } from '../../../src/errors.js';

/** The whole command tree's parts, loaded once (buildProgram builds a fresh tree of them). */
const WHOLE = await loadParts();

const program = () => buildProgram({ exitCode: 0, json: false }, WHOLE);

function refused(args: string[]): MoatError {
  try {
    resolveCommandLine(program(), args);
  } catch (e) {
    return e as MoatError;
  }
  throw new Error(`resolveCommandLine(${args.join(' ')}) did not throw`);
}

describe('resolveCommandLine', () => {
  it('finds the command, through global options and subcommands', () => {
    const line = resolveCommandLine(program(), ['--log-level', 'debug', 'image', 'ls', '--format', 'json']);
    expect(line.path.map((c) => c.name())).toEqual(['moat', 'image', 'ls']);
    expect(line.rest).toEqual(['--format', 'json']);
    expect(resolveCommandLine(program(), ['run', '--rm', 'img', 'stats']).path.map((c) => c.name())).toEqual([
      'moat',
      'run',
    ]);
    expect(resolveCommandLine(program(), ['--help']).path).toHaveLength(1);
  });

  it('refuses an unknown command, with --help too, saying moat does not have it', () => {
    for (const args of [
      ['swarm'],
      ['swarm', '--help'],
      ['help', 'swarm'],
      ['--log-level=info', 'swarm', '-h'],
    ]) {
      const e = refused(args);
      expect(e.code).toBe('CLI_USAGE');
      expect(e.message).toBe("unknown command 'swarm'");
      expect(e.hint).toMatch(/moat has no swarm command \(yet\)/);
    }
  });

  it('suggests a command only for a typo, never a look-alike of a docker command', () => {
    expect(refused(['rnu']).hint).toMatch(/did you mean moat run\?/);
    expect(refused(['imgaes']).hint).toMatch(/did you mean moat images\?/);
    expect(refused(['stat']).hint).not.toMatch(/did you mean/); // start or stats: no guess
    expect(refused(['swarm']).hint).toMatch(/moat has no swarm command/);
    expect(refused(['frobnicate']).hint).toMatch(/moat has no such command/);
    const sub = refused(['image', 'lss']);
    expect(sub.message).toBe("unknown command 'image lss'");
    expect(sub.hint).toMatch(/did you mean moat image ls\?/);
  });

  it('edit distance counts a swap as one', () => {
    expect(editDistance('rnu', 'run')).toBe(1);
    expect(editDistance('stats', 'start')).toBe(2);
    expect(suggestCommand('stats', ['start', 'stop'])).toBeUndefined();
    expect(suggestCommand('stat', ['start', 'stats'], [])).toBeUndefined();
    expect(suggestCommand('strat', ['start', 'stats'], [])).toBe('start');
  });
});

describe('--format json', () => {
  const json = (args: string[]) => wantsJson(resolveCommandLine(program(), args));
  it('applies to the commands that have --format, usage errors included', () => {
    expect(json(['ps', '--format', 'json', '--bogus'])).toBe(true);
    expect(json(['ps', '--format=json'])).toBe(true);
    expect(json(['image', 'ls', '--format', 'json'])).toBe(true);
    expect(json(['ps', '--format', 'table'])).toBe(false);
    expect(json(['run', 'img', 'echo', '--format', 'json'])).toBe(false); // run has no --format
  });
});

describe("commander's errors", () => {
  it('become CLI_USAGE without "error: ", with a hint naming the command', () => {
    const line = resolveCommandLine(program(), ['logs', '--tial', '3', 'x']);
    const e = fromCommander(
      new CommanderError(
        1,
        'commander.unknownOption',
        "error: unknown option '--tial'\n(Did you mean --tail?)",
      ),
      line,
    );
    expect(e.code).toBe('CLI_USAGE');
    expect(e.message).toBe("unknown option '--tial'");
    expect(e.hint).toBe('did you mean --tail? moat logs --help lists its options');
  });

  it('a global option after the command says where it goes', () => {
    const line = resolveCommandLine(program(), ['ps', '--log-level', 'info']);
    const e = fromCommander(
      new CommanderError(1, 'commander.unknownOption', "error: unknown option '--log-level'"),
      line,
    );
    expect(e.code).toBe('CLI_USAGE');
    expect(e.hint).toBe(
      '--log-level is a global option: put it before the command (moat --log-level VALUE ps ...)',
    );
  });

  it("docker's --privileged gets a reason", () => {
    const line = resolveCommandLine(program(), ['run', '--privileged', 'img']);
    const e = fromCommander(
      new CommanderError(1, 'commander.unknownOption', "error: unknown option '--privileged'"),
      line,
    );
    expect(e.hint).toMatch(/never runs privileged containers/);
  });
});
