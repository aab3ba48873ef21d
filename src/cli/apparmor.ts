/**
 * `moat apparmor generate`: an AppArmor profile for a container (its spec), for a run (the spec
 * `moat run` would make with the same options, nothing created) or for any container
 * (`--default`, moat-default), printed or written atomically with -o. Rootless moat cannot load
 * it: an administrator reviews it and loads it as root (apparmor_parser -r FILE).
 */
import { Command } from 'commander';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/fsutil.js';
import { request } from './app.js';
import { addRunOptions, toRunOptions, type RunFlags } from './run-options.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { json } from './output.js';

interface GenerateFlags extends RunFlags {
  image?: string;
  default?: boolean;
  profileName?: string;
  output?: string;
  validate: boolean;
  format?: string;
}

interface GenerateResult {
  name: string;
  profile: string;
  validated: boolean;
  parser?: string;
  warnings: string[];
}

/** The run flags when none is given (what addRunOptions's defaults are). */
const BARE: RunFlags = {
  env: [],
  volume: [],
  volumesFrom: [],
  tmpfs: [],
  mount: [],
  capAdd: [],
  groupAdd: [],
  sysctl: [],
  ulimit: [],
  securityOpt: [],
  label: [],
  networkAlias: [],
  publish: [],
  dns: [],
  addHost: [],
  logOpt: [],
};

export function registerApparmorCommands(program: Command, state: CliState): void {
  const aa = program
    .command('apparmor')
    .description('AppArmor profiles for moat containers, for an administrator to load (root only)');
  addRunOptions(
    aa
      .command('generate')
      .description(
        "write an AppArmor profile derived from a container's spec (CONTAINER), from the spec a run would get (--image IMAGE [run options] [command]; nothing is created), or the generic moat-default (--default); checked with apparmor_parser -Q -K where installed",
      )
      .argument('[container-or-command...]', 'the container; with --image, the command of the run')
      .option('--image <image>', 'the image of a run to plan (with the run options below)')
      .option(
        '--default',
        'the generic profile for any moat container (moat-default: the default where loaded)',
      )
      .option(
        '--profile-name <name>',
        'the profile name (default: moat-CONTAINER, moat-IMAGE or moat-default)',
      )
      .option('-o, --output <file>', 'write the profile to this file (atomically) instead of stdout')
      .option('--no-validate', 'do not check the profile with apparmor_parser')
      .option('--format <format>', 'text (the profile) or json (name, profile, validated)', 'text'),
  ).action(async (args: string[], f: GenerateFlags) => {
    if (f.format !== 'text' && f.format !== 'json')
      throw new UsageError(`invalid --format "${f.format}"`, { hint: 'text or json' });
    state.json = f.format === 'json';
    const usage = 'moat apparmor generate CONTAINER | --image IMAGE [run options] [command] | --default';
    if (f.image !== undefined && f.default)
      throw new UsageError('--image and --default are two sources: name one', { hint: usage });
    if (f.default && args.length)
      throw new UsageError(`--default takes no container (${args[0]})`, { hint: usage });
    if (f.image === undefined && !f.default && args.length !== 1)
      throw new UsageError(
        args.length
          ? 'name one container (run options and a command go with --image)'
          : 'name a container, or --image IMAGE, or --default',
        { hint: usage },
      );
    // Run options belong to --image: given with a container or --default they would be ignored.
    if (
      f.image === undefined &&
      JSON.stringify(toRunOptions('-', [], f)) !== JSON.stringify(toRunOptions('-', [], BARE))
    )
      throw new UsageError('run options go with --image IMAGE (a container has its own spec)', {
        hint: usage,
      });
    const body = {
      ...(f.image !== undefined
        ? { options: toRunOptions(f.image, args, f) }
        : f.default
          ? { default: true }
          : { container: args[0] }),
      ...(f.profileName !== undefined ? { name: f.profileName } : {}),
      validate: f.validate,
    };
    const res = await request<GenerateResult>('POST', '/apparmor/generate', body);
    for (const w of res.warnings) process.stderr.write(`moat: warning: ${w}\n`);
    const out = state.json ? json(res) : res.profile;
    if (f.output === undefined) {
      process.stdout.write(out);
      return;
    }
    const file = path.resolve(f.output);
    await writeFileAtomic(file, out, 0o644);
    process.stderr.write(
      `${file}: profile ${res.name}${res.validated ? ` (checked by ${res.parser ?? 'apparmor_parser'})` : ''}\n`,
    );
  });
}
