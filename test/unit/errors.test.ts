/** Every code of every room has statuses and a hint, and no code is thrown that no table knows. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeError, ERROR_TABLES, errorInfo, isKnownCode } from '../../src/error-table.js';
import { MoatError } from '../../src/errors.js';
import { RuntimeError } from '../../src/runtime/errors.js';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Codes that look like error codes but are not errors moat reports (warnings, undici's codes). */
const NOT_ERRORS = new Set([
  'SECCOMP_UNKNOWN_ALLOWED_SYSCALL',
  'SECCOMP_UNVERIFIED_ALLOWED_SYSCALL',
  // @sigstore/verify's own VerificationError code, raised inside its key lookup (trust/root/material.ts)
  'PUBLIC_KEY_ERROR',
]);

describe('error tables', () => {
  const rows = Object.entries(ERROR_TABLES).flatMap(([room, t]) =>
    Object.entries(t).map(([code, info]) => ({ room, code, info })),
  );

  it('every room has a table, and every code a hint, an HTTP status and an exit status', () => {
    expect(Object.keys(ERROR_TABLES).sort()).toEqual(
      [
        'api',
        'apparmor',
        'cli',
        'image',
        'oci',
        'policy',
        'registry',
        'runtime',
        'scan',
        'seccomp',
        'trust',
        'userns',
        'vuln',
      ].sort(),
    );
    expect(rows.length).toBeGreaterThan(80);
    for (const { code, info } of rows) {
      expect(info.hint.trim().length, code).toBeGreaterThan(10);
      expect(info.http >= 400 && info.http <= 599, `${code} http ${info.http}`).toBe(true);
      expect([1, 2, 3, 4, 6, 125, 126, 127], `${code} exit ${info.exit}`).toContain(info.exit);
    }
  });

  it('no code is in two tables', () => {
    const seen = new Map<string, string>();
    for (const { room, code } of rows) {
      expect(seen.get(code), `${code} in ${room} and ${seen.get(code)}`).toBeUndefined();
      seen.set(code, room);
    }
  });

  it('every code thrown anywhere in src is in a table', () => {
    const re = /(?:Error\(|code: )\s*'([A-Z][A-Z0-9]*_[A-Z0-9_]+|rego_[a-z_]+|eval_[a-z_]+)'/g;
    const unknown: string[] = [];
    let found = 0;
    for (const f of sources(SRC)) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(re)) {
        if (m[1].startsWith('UND_ERR_') || NOT_ERRORS.has(m[1])) continue;
        found++;
        if (!isKnownCode(m[1])) unknown.push(`${path.relative(SRC, f)}: ${m[1]}`);
      }
    }
    expect(found).toBeGreaterThan(100);
    expect(unknown).toEqual([]);
  });

  it('every trust code exits 4 (reserved for TRUST_*), and only trust codes do', () => {
    for (const { room, code, info } of rows)
      expect(info.exit === 4, `${room} ${code}`).toBe(room === 'trust');
  });

  it('user errors exit 1 or 2, not 125', () => {
    expect(errorInfo('CLI_USAGE').exit).toBe(2);
    expect(errorInfo('IMAGE_INVALID_REFERENCE').exit).toBe(2);
    expect(errorInfo('REGISTRY_UNAUTHORIZED').exit).toBe(1); // bad login, push without credentials
    expect(errorInfo('REGISTRY_DENIED').exit).toBe(1);
    expect(errorInfo('REGISTRY_LOGIN_NOT_FOUND').exit).toBe(1);
    expect(errorInfo('SECCOMP_UNCONFINED_REFUSED').exit).toBe(2);
    expect(errorInfo('RUNTIME_COMMAND_NOT_FOUND').exit).toBe(127);
    expect(errorInfo('RUNTIME_COMMAND_NOT_EXECUTABLE').exit).toBe(126);
    expect(errorInfo('POLICY_DENIED').exit).toBe(3);
  });
});

describe('describeError', () => {
  it("fills in the code's default hint, keeps a specific one", () => {
    const d = describeError(new MoatError('REGISTRY_UNREACHABLE', 'cannot reach x'));
    expect(d).toMatchObject({ code: 'REGISTRY_UNREACHABLE', exit: 125, http: 500 });
    expect(d.hint).toBe(errorInfo('REGISTRY_UNREACHABLE').hint);
    expect(describeError(new RuntimeError('RUNTIME_INVALID_STATE', 'x', { hint: 'do y' })).hint).toBe('do y');
  });

  it("a container's status in details wins over the table", () => {
    expect(
      describeError(new MoatError('RUNTIME_START_FAILED', 'x', { details: { exitCode: 127 } })).exit,
    ).toBe(127);
  });

  it('anything else is INTERNAL, with a hint', () => {
    const d = describeError(new TypeError('boom'));
    expect(d).toMatchObject({ code: 'INTERNAL', exit: 125, message: 'internal error: boom' });
    expect(d.hint).toMatch(/bug/);
  });
});
