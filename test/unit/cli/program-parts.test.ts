// The CLI builds only the part of its command tree a command line asks for (src/cli/index.ts):
// each part's declared words must be exactly what it registers, or a command would be missing
// (or a word sent to the wrong part) when it is asked for alone.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  buildProgram,
  commandWord,
  loadParts,
  PROGRAM_PARTS,
  type CliState,
} from '../../../src/cli/index.js';

const state = (): CliState => ({ exitCode: 0, json: false });
const words = (p: Command) => p.commands.flatMap((c) => [c.name(), ...c.aliases()]);
const build = async (argv?: string[]) => buildProgram(state(), await loadParts(argv));
const tree = (c: Command): string[] =>
  c.commands.flatMap((s) => [
    `${s.name()}: ${s.options.map((o) => o.flags).join(' ')}`,
    ...tree(s).map((t) => `${s.name()} ${t}`),
  ]);

describe('the command tree in parts', () => {
  it("each part's words are exactly the top-level commands it registers", async () => {
    for (const part of PROGRAM_PARTS) {
      const p = new Command('moat').enablePositionalOptions();
      (await part.load())(p, state());
      expect([...new Set(words(p))].sort()).toEqual([...new Set(part.names)].sort());
    }
  });

  it('the whole tree is every part plus the container group', async () => {
    const all = words(await build());
    const fromParts = new Set([...PROGRAM_PARTS.flatMap((p) => p.names), 'container']);
    expect(new Set(all)).toEqual(fromParts);
    expect(all.length).toBeGreaterThan(50);
  });

  it('a command asked for alone is the same command, options and subcommands, as in the whole tree', async () => {
    const whole = await build();
    for (const word of new Set(PROGRAM_PARTS.flatMap((p) => p.names))) {
      const alone = await build([word, '--help']);
      const a = alone.commands.find((c) => c.name() === word || c.aliases().includes(word));
      const w = whole.commands.find((c) => c.name() === word || c.aliases().includes(word));
      expect(a, word).toBeDefined();
      const of = (t: string[], name: string) =>
        t.filter((x) => x.startsWith(`${name}:`) || x.startsWith(`${name} `));
      expect(of(tree(alone), a!.name())).toEqual(of(tree(whole), w!.name()));
    }
    // `container` alone: the group with its commands (ls, rm, ...).
    const group = (await build(['container', 'ls'])).commands.find((c) => c.name() === 'container');
    expect(words(group!)).toEqual(expect.arrayContaining(['ls', 'rm', 'run', 'prune']));
  });

  it('builds only the parts a known command needs, the whole tree otherwise', async () => {
    expect(words(await build(['run', '--rm', 'img']))).toEqual(PROGRAM_PARTS[0].names);
    expect(new Set(words(await build(['image', 'ls'])))).toEqual(
      new Set(PROGRAM_PARTS.filter((p) => p.names.includes('image')).flatMap((p) => p.names)),
    );
    const all = words(await build()).length;
    for (const argv of [[], ['--help'], ['help', 'run'], ['-V'], ['rnu'], ['--log-level', 'debug']]) {
      expect(words(await build(argv)).length, argv.join(' ')).toBe(all);
    }
  });

  it('finds the command word after --log-level, not after other global options', () => {
    expect(commandWord(['run', 'x'])).toBe('run');
    expect(commandWord(['--log-level', 'debug', 'ps', '-a'])).toBe('ps');
    expect(commandWord(['--log-level=debug', 'ps'])).toBe('ps');
    expect(commandWord(['--help', 'run'])).toBeUndefined();
    expect(commandWord(['-V'])).toBeUndefined();
    expect(commandWord([])).toBeUndefined();
    // The level is --log-level's value, not a command.
    expect(commandWord(['--log-level', 'ps'])).toBeUndefined();
  });
});
