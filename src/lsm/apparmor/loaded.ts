/**
 * Which AppArmor profiles the host has loaded, from securityfs's list (`NAME (MODE)` a line), and
 * the profile a run gets by default: `moat-default` where it is loaded, as Docker's runs get
 * `docker-default`. Pure: the host facts read the file (runtime/host.ts).
 */
import { DEFAULT_PROFILE_NAME } from './profile.js';

/**
 * Where the kernel lists the loaded profiles. Opening it needs policy-view rights (root, in
 * practice): a rootless moat reads the policy tree's directory instead (POLICY_PROFILES_DIR).
 */
export const LOADED_PROFILES_FILE = '/sys/kernel/security/apparmor/profiles';

/**
 * The policy tree: a directory per loaded profile, `NAME.N` (NAME with `/` and a few other
 * characters replaced; a name moat accepts is kept as it is). Listing it needs no privilege.
 */
export const POLICY_PROFILES_DIR = '/sys/kernel/security/apparmor/policy/profiles';

/** Profile names from the policy tree's entries: `moat-default.12` → `moat-default`. */
export function namesFromPolicyDir(entries: string[]): string[] {
  return [...new Set(entries.map((e) => e.replace(/\.\d+$/, '')))];
}

export interface LoadedProfile {
  name: string;
  /** enforce, complain, kill, unconfined… as the kernel says. */
  mode: string;
}

/** The lines of the profiles file: `moat-default (enforce)`. */
export function parseLoadedProfiles(text: string): LoadedProfile[] {
  const out: LoadedProfile[] = [];
  for (const line of text.split('\n')) {
    const m = /^(.*\S)\s+\(([^()]*)\)\s*$/.exec(line);
    if (m) out.push({ name: m[1], mode: m[2] });
  }
  return out;
}

/**
 * The profile a run gets when it names none: `moat-default` when AppArmor is enabled and that
 * profile is loaded, else none.
 */
export function defaultProfileFor(h: { apparmor: boolean; apparmorProfiles?: string[] }): string | undefined {
  return h.apparmor && h.apparmorProfiles?.includes(DEFAULT_PROFILE_NAME) ? DEFAULT_PROFILE_NAME : undefined;
}
