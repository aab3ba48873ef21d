/**
 * Checking a profile with AppArmor's own parser before anyone loads it: `apparmor_parser -Q -K`
 * compiles the text and loads nothing (-Q: skip the kernel load, -K: no cache), so it works as any
 * user and on a kernel without AppArmor. The parser is Debian's `apparmor` package.
 */
import { spawn } from 'node:child_process';
import { findExecutable } from '../../runtime/host.js';
import { AppArmorError } from './errors.js';

export interface ValidateResult {
  /** Whether the parser checked it (false: no parser installed). */
  validated: boolean;
  /** The parser's path, when there is one. */
  parser?: string;
}

/** Where apparmor_parser is ($MOAT_APPARMOR_PARSER, else the PATH and the sbin directories). */
export function findParser(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findExecutable(env.MOAT_APPARMOR_PARSER ?? 'apparmor_parser', env);
}

/**
 * Its diagnostics, without the note every run on a kernel without AppArmor prints (the cache is
 * disabled anyway: -K).
 */
export function parserDiagnostics(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() && !/^Cache read\/write disabled/.test(l))
    .join('\n');
}

/**
 * Compile `text` with apparmor_parser (from stdin, nothing loaded). Resolves `{validated: false}`
 * when the parser is not installed; throws APPARMOR_PROFILE_INVALID with its output when it
 * refuses the profile. `parser`: which one (null: none, as where it is not installed).
 */
export async function validateProfile(
  text: string,
  parser: string | null | undefined = findParser(),
): Promise<ValidateResult> {
  if (!parser) return { validated: false };
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(parser, ['-Q', '-K'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (err.length < 64 * 1024) err += d;
    });
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stderr: err }));
    // The parser may exit before reading everything (a syntax error early on): not our error.
    child.stdin.on('error', () => {});
    child.stdin.end(text);
  });
  if (code !== 0) {
    const out = parserDiagnostics(stderr);
    throw new AppArmorError(
      'APPARMOR_PROFILE_INVALID',
      `apparmor_parser refused the profile (exit ${code}): ${out || '(no output)'}`,
      { details: { parser, exitCode: code, output: out } },
    );
  }
  return { validated: true, parser };
}
