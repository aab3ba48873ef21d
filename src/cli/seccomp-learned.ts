/**
 * What the CLI says after a learning run (`moat run --seccomp-learn FILE`, `moat seccomp learn`):
 * where the profile is, and loudly, the calls it allows beyond moat's default profile. Apart from
 * seccomp.ts so that `run` (containers.ts) can load it without loading the seccomp commands.
 */
import { readFileSync } from 'node:fs';
import { allowedNames, explainProfile } from '../seccomp/learn/profile.js';
import type { SeccompProfile } from '../seccomp/types.js';

/** Loud notes on a learned profile (stderr): what it allows that the default profile refuses. */
export function warnAbout(profile: SeccompProfile, where: string): void {
  const risky = explainProfile(profile).filter((x) => x.risk === 'not-in-default' || x.risk === 'loosened');
  if (risky.length)
    process.stderr.write(
      `moat: WARNING: ${where} allows ${risky.length} system call(s) beyond moat's default profile (refused there, or only with a capability or argument filters): ${risky.map((x) => x.name).join(', ')}\n` +
        `moat: review them (moat seccomp explain ${where}) before shipping the profile\n`,
    );
}

/** After `moat run --seccomp-learn FILE`: where the profile is, and what to look at. */
export async function sayLearned(file: string): Promise<void> {
  let profile: SeccompProfile;
  try {
    profile = JSON.parse(readFileSync(file, 'utf8')) as SeccompProfile;
  } catch {
    process.stderr.write(
      `moat: no seccomp profile was written to ${file}: the recorder heard nothing (did the command start?)\n`,
    );
    return;
  }
  process.stderr.write(
    `moat: learned seccomp profile (${allowedNames(profile).length} calls) written to ${file}\n`,
  );
  warnAbout(profile, file);
}
