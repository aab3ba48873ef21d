/**
 * `moat seccomp learn|diff|explain`: seccomp profiles learned from a run, rootless.
 *
 *   moat seccomp learn [run options] IMAGE [CMD...] > profile.json   (or -o FILE, --merge FILE)
 *   moat run -d --seccomp-learn FILE ...; ...; moat stop NAME          (a long-running workload)
 *   moat run --security-opt seccomp=profile.json IMAGE ...            (the profile in use)
 *   moat seccomp diff A B ; moat seccomp explain FILE [--format json]
 *
 * A learning run is a run like any other (the policy decides it: `facts.run.seccomp.profile` is
 * "learning"); its output goes to stderr so that the profile alone goes to stdout. What the user
 * must know is said loudly: calls the learned profile allows that moat's default profile refuses.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import {
  allowedNames,
  diffProfiles,
  explainProfile,
  learnedProfile,
  type Explained,
} from '../seccomp/learn/profile.js';
import type { SeccompProfile } from '../seccomp/types.js';
import { writeFileAtomic } from '../util/fsutil.js';
import { request } from './app.js';
import { addRunOptions, toRunOptions, type RunFlags } from './run-options.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { json, table } from './output.js';
import { warnAbout } from './seccomp-learned.js';

function readProfile(file: string): SeccompProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    const p = JSON.parse(text) as SeccompProfile;
    if (!p || !Array.isArray(p.syscalls)) throw new Error('no "syscalls" list');
    return p;
  } catch (e) {
    throw new UsageError(`${file} is not a seccomp profile: ${(e as Error).message}`);
  }
}

export function registerSeccompCommands(program: Command, state: CliState): void {
  const seccomp = program
    .command('seccomp')
    .description('seccomp profiles: learn one from a run (rootless), compare and explain them');

  addRunOptions(
    seccomp
      .command('learn')
      .description(
        "run a container with every system call recorded and print the smallest profile that lets it run (moat's default profile cut down to the calls seen); its output goes to stderr",
      )
      .argument('<image>')
      .argument('[command...]')
      .option('-o, --output <file>', 'write the profile here (atomically) instead of stdout')
      .option('--merge <file>', 'add the calls of an earlier profile (a profile for several runs)')
      .passThroughOptions(),
  ).action(async (image: string, cmd: string[], f: RunFlags & { output?: string; merge?: string }) => {
    if (f.seccompLearn !== undefined)
      throw new UsageError('moat seccomp learn writes the profile itself: drop --seccomp-learn');
    const earlier = f.merge !== undefined ? readProfile(path.resolve(f.merge)) : undefined;
    const dir = mkdtempSync(path.join(tmpdir(), 'moat-learn-'));
    const raw = path.join(dir, 'learned.json');
    try {
      const options = { ...toRunOptions(image, cmd, f), seccompLearn: raw, rm: true };
      const res = await request<{ exitCode?: number; error?: string; warnings: string[] }>(
        'POST',
        '/containers/run',
        { options, detach: false },
        {
          stdin: process.stdin,
          stdout: process.stderr,
          stderr: process.stderr,
          progress: (m) => process.stderr.write(`${m}\n`),
        },
      );
      for (const w of res.warnings) process.stderr.write(`moat: warning: ${w}\n`);
      if (res.error) throw new UsageError(`the learning run did not start: ${res.error}`);
      let learned: SeccompProfile;
      try {
        learned = JSON.parse(readFileSync(raw, 'utf8')) as SeccompProfile;
      } catch {
        throw new UsageError(
          'the learning run wrote no profile: the recorder heard nothing (did the command start?)',
        );
      }
      const profile = earlier
        ? learnedProfile([...allowedNames(learned), ...allowedNames(earlier)], {
            allowNamespaces: Boolean(f.allowNamespaces),
          }).profile
        : learned;
      const text = JSON.stringify(profile, null, 2) + '\n';
      if (f.output) await writeFileAtomic(path.resolve(f.output), text, 0o644);
      else process.stdout.write(text);
      process.stderr.write(
        `moat: ${allowedNames(profile).length} system calls${earlier ? ` (merged with ${f.merge})` : ''}${f.output ? ` written to ${f.output}` : ''}\n`,
      );
      warnAbout(profile, f.output ?? 'the profile');
      if (res.exitCode) {
        process.stderr.write(
          `moat: the workload exited with status ${res.exitCode}: the profile covers what it did before that\n`,
        );
        state.exitCode = res.exitCode;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  seccomp
    .command('diff')
    .description('the system calls one profile allows and the other does not')
    .argument('<a>')
    .argument('<b>')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action((a: string, b: string, f: { format: string }) => {
      const d = diffProfiles(readProfile(a), readProfile(b));
      // Like diff(1): 1 when they differ.
      if (d.onlyA.length || d.onlyB.length) state.exitCode = 1;
      if (f.format === 'json') return void process.stdout.write(json(d));
      process.stdout.write(
        `only in ${a}: ${d.onlyA.join(' ') || '-'}\nonly in ${b}: ${d.onlyB.join(' ') || '-'}\nin both: ${d.both}\n`,
      );
    });

  seccomp
    .command('explain')
    .description(
      "what each system call a profile allows is for, and whether moat's default profile allows it (default), only with a capability, or not at all",
    )
    .argument('<file>')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action((file: string, f: { format: string }) => {
      const rows: Explained[] = explainProfile(readProfile(file));
      if (f.format === 'json') return void process.stdout.write(json(rows));
      process.stdout.write(
        table(
          rows.map((r) => [
            r.name,
            r.risk === 'capability' ? `needs ${r.caps!.join('|')}` : r.risk,
            r.purpose,
          ]),
          ['SYSCALL', 'DEFAULT PROFILE', 'FOR'],
        ),
      );
      const risky = rows.filter((r) => r.risk === 'not-in-default');
      if (risky.length)
        process.stderr.write(
          `moat: WARNING: ${risky.length} call(s) moat's default profile refuses: ${risky.map((r) => r.name).join(', ')}\n`,
        );
    });
}
