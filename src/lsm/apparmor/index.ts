/**
 * The AppArmor room: profiles for moat containers, made for an administrator to load (a rootless
 * process cannot load AppArmor policy), and the choice of the profile a run asks runc to apply.
 *
 *   generateProfile({name, source, spec})  → profile text     (pure: the spec decides the rules)
 *   validateProfile(text)                   → checked or not   (apparmor_parser -Q -K, loads nothing)
 *   parseLoadedProfiles(text)               → loaded profiles  (securityfs's list, read by host facts)
 *   defaultProfileFor(host)                 → moat-default where it is loaded
 */
export { AppArmorError, isAppArmorError, type AppArmorErrorCode } from './errors.js';
export {
  checkProfileName,
  DEFAULT_PROFILE_NAME,
  generateProfile,
  pathGlob,
  PROFILE_NAME,
  profileNameFor,
  type ProfileInput,
  type ProfileSpec,
} from './profile.js';
export { findParser, parserDiagnostics, validateProfile, type ValidateResult } from './parser.js';
export {
  defaultProfileFor,
  LOADED_PROFILES_FILE,
  namesFromPolicyDir,
  POLICY_PROFILES_DIR,
  parseLoadedProfiles,
  type LoadedProfile,
} from './loaded.js';
