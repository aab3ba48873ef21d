import type { ErrorObject } from 'ajv';
import { lazyValidator } from '../util/schema.js';
import { SeccompError } from './errors.js';
import { firstJsonError, positionAt } from './json-position.js';
import { profileSchema } from './schema.js';
import type { SeccompProfile } from './types.js';

export interface ParseOptions {
  /**
   * Accept the text `unconfined` and return null (no filter at all). Off by default: running
   * without seccomp must be asked for on purpose, never reached by a typo or a default.
   */
  allowUnconfined?: boolean;
}

/** One thing wrong with a profile, at a JSON path such as `$.syscalls[3].action`. */
export interface ProfileProblem {
  path: string;
  message: string;
}

// Compiled on first use (or precompiled at build time): most runs use the default profile.
const validate = lazyValidator<SeccompProfile>(
  'seccomp:profile',
  profileSchema as unknown as Record<string, unknown>,
  { allErrors: true },
);

/** `/syscalls/3/action` → `$.syscalls[3].action` */
function jsonPath(pointer: string, extra?: string): string {
  const parts = pointer === '' ? [] : pointer.slice(1).split('/');
  if (extra !== undefined) parts.push(extra);
  return (
    '$' +
    parts
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((p) =>
        /^\d+$/.test(p) ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`,
      )
      .join('')
  );
}

function describe(e: ErrorObject): ProfileProblem {
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      return { path: jsonPath(e.instancePath, key), message: 'unknown field' };
    }
    case 'required': {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      return { path: jsonPath(e.instancePath, key), message: 'is required' };
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
      return { path: jsonPath(e.instancePath), message: `must be one of ${allowed.join(', ')}` };
    }
    default:
      return { path: jsonPath(e.instancePath), message: e.message ?? e.keyword };
  }
}

/** Checks across fields, each of which would otherwise be applied differently than written. */
function semanticProblems(p: SeccompProfile): ProfileProblem[] {
  const problems: ProfileProblem[] = [];
  const takesErrno = (action: string) => action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE';
  if (p.architectures && p.archMap) {
    problems.push({ path: '$.archMap', message: 'give either architectures or archMap, not both' });
  }
  if (p.defaultErrnoRet !== undefined && !takesErrno(p.defaultAction)) {
    problems.push({ path: '$.defaultErrnoRet', message: `has no meaning with ${p.defaultAction}` });
  }
  const usesNotify =
    p.defaultAction === 'SCMP_ACT_NOTIFY' || (p.syscalls ?? []).some((r) => r.action === 'SCMP_ACT_NOTIFY');
  if (usesNotify && !p.listenerPath) {
    problems.push({ path: '$.listenerPath', message: 'is required when SCMP_ACT_NOTIFY is used' });
  }
  (p.syscalls ?? []).forEach((rule, i) => {
    if (rule.errnoRet !== undefined && !takesErrno(rule.action)) {
      problems.push({ path: `$.syscalls[${i}].errnoRet`, message: `has no meaning with ${rule.action}` });
    }
    // runc turns several comparisons of one argument into separate rules, i.e. ORs them: a range
    // written as ">= 1 and <= 5" would allow every value. Refuse instead of widening.
    const seen = new Set<number>();
    (rule.args ?? []).forEach((arg, j) => {
      if (seen.has(arg.index)) {
        problems.push({
          path: `$.syscalls[${i}].args[${j}].index`,
          message: `argument ${arg.index} is compared twice in one rule; runc would OR the comparisons`,
        });
      }
      seen.add(arg.index);
    });
  });
  return problems;
}

/**
 * Parse and validate a seccomp profile file (`--security-opt seccomp=FILE`). `source` names the
 * file in messages. Returns null only for `unconfined` with `allowUnconfined`.
 */
export function parseSeccompProfile(
  text: string,
  source: string,
  opts?: { allowUnconfined?: false },
): SeccompProfile;
export function parseSeccompProfile(text: string, source: string, opts: ParseOptions): SeccompProfile | null;
export function parseSeccompProfile(
  text: string,
  source: string,
  opts: ParseOptions = {},
): SeccompProfile | null {
  let data: unknown;
  if (text.trim() === 'unconfined') {
    data = 'unconfined';
  } else {
    try {
      data = JSON.parse(text);
    } catch (cause) {
      const offset = firstJsonError(text) ?? text.length;
      const pos = positionAt(text, offset);
      throw new SeccompError(
        'SECCOMP_INVALID_JSON',
        `${source}:${pos.line}:${pos.column}: not valid JSON (${(cause as Error).message})`,
        { cause, hint: 'a seccomp profile is a JSON document', details: { source, ...pos } },
      );
    }
  }

  if (data === 'unconfined') {
    if (opts.allowUnconfined) return null;
    throw new SeccompError(
      'SECCOMP_UNCONFINED_REFUSED',
      `${source}: running without seccomp was not allowed`,
      {
        hint: 'unconfined must be enabled explicitly; prefer a custom profile that allows the calls you need',
        details: { source },
      },
    );
  }

  const problems = validate(data) ? semanticProblems(data) : (validate.errors ?? []).map(describe);
  if (problems.length > 0) {
    const list = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    throw new SeccompError('SECCOMP_INVALID_PROFILE', `${source}: not a valid seccomp profile: ${list}`, {
      hint: 'see docs/seccomp.md for the profile format',
      details: { source, problems },
    });
  }
  return data as SeccompProfile;
}
