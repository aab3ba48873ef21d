/**
 * Every room declares its errors one way (src/<room>/errors.ts: the codes `as const`, the table,
 * a class whose `code` is the room's codes, an `isXError` guard), and nothing in src builds a bare
 * MoatError with a literal code: each code is thrown through its room's class.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_ERROR_CODES, API_ERRORS, ApiError, isApiError } from '../../src/api/errors.js';
import {
  APPARMOR_ERROR_CODES,
  APPARMOR_ERRORS,
  AppArmorError,
  isAppArmorError,
} from '../../src/lsm/apparmor/errors.js';
import { CLI_ERROR_CODES, CLI_ERRORS, CliError, isCliError, UsageError } from '../../src/cli/errors.js';
import { describeError, ERROR_TABLES } from '../../src/error-table.js';
import { MoatError, type ErrorInfo } from '../../src/errors.js';
import { IMAGE_ERROR_CODES, IMAGE_ERRORS, ImageError, isImageError } from '../../src/image/errors.js';
import { isOciError, OCI_ERROR_CODES, OCI_ERRORS, OciError } from '../../src/oci/errors.js';
import {
  isRegistryError,
  REGISTRY_ERROR_CODES,
  REGISTRY_ERRORS,
  RegistryError,
} from '../../src/image/registry/errors.js';
import { isRegoError, POLICY_ERRORS, REGO_ERROR_CODES, RegoError } from '../../src/policy/errors.js';
import {
  isRuntimeError,
  RUNTIME_ERROR_CODES,
  RUNTIME_ERRORS,
  RuntimeError,
} from '../../src/runtime/errors.js';
import { isScanError, SCAN_ERROR_CODES, SCAN_ERRORS, ScanError } from '../../src/scan/errors.js';
import { isVulnError, VULN_ERROR_CODES, VULN_ERRORS, VulnError } from '../../src/scan/vuln/errors.js';
import {
  isSeccompError,
  SECCOMP_ERROR_CODES,
  SECCOMP_ERRORS,
  SeccompError,
} from '../../src/seccomp/errors.js';
import { isTrustError, TRUST_ERROR_CODES, TRUST_ERRORS, TrustError } from '../../src/trust/errors.js';
import { isUsernsError, USERNS_ERROR_CODES, USERNS_ERRORS, UsernsError } from '../../src/userns/errors.js';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface Room {
  codes: readonly string[];
  table: Readonly<Record<string, ErrorInfo>>;
  make: (code: string) => MoatError;
  is: (e: unknown) => boolean;
  name: string;
}

// `as never`: the rows below try every code of the room; which codes a class accepts is the
// compile-time check further down.
const ROOMS: Record<string, Room> = {
  api: {
    codes: API_ERROR_CODES,
    table: API_ERRORS,
    make: (c) => new ApiError(c as never, 'x'),
    is: isApiError,
    name: 'ApiError',
  },
  apparmor: {
    codes: APPARMOR_ERROR_CODES,
    table: APPARMOR_ERRORS,
    make: (c) => new AppArmorError(c as never, 'x'),
    is: isAppArmorError,
    name: 'AppArmorError',
  },
  cli: {
    codes: CLI_ERROR_CODES,
    table: CLI_ERRORS,
    make: (c) => new CliError(c as never, 'x'),
    is: isCliError,
    name: 'CliError',
  },
  image: {
    codes: IMAGE_ERROR_CODES,
    table: IMAGE_ERRORS,
    make: (c) => new ImageError(c as never, 'x'),
    is: isImageError,
    name: 'ImageError',
  },
  oci: {
    codes: OCI_ERROR_CODES,
    table: OCI_ERRORS,
    make: (c) => new OciError(c as never, 'x'),
    is: isOciError,
    name: 'OciError',
  },
  registry: {
    codes: REGISTRY_ERROR_CODES,
    table: REGISTRY_ERRORS,
    make: (c) => new RegistryError(c as never, 'x'),
    is: isRegistryError,
    name: 'RegistryError',
  },
  policy: {
    codes: REGO_ERROR_CODES,
    table: POLICY_ERRORS,
    make: (c) => new RegoError(c as never, 'x'),
    is: isRegoError,
    name: 'RegoError',
  },
  runtime: {
    codes: RUNTIME_ERROR_CODES,
    table: RUNTIME_ERRORS,
    make: (c) => new RuntimeError(c as never, 'x'),
    is: isRuntimeError,
    name: 'RuntimeError',
  },
  scan: {
    codes: SCAN_ERROR_CODES,
    table: SCAN_ERRORS,
    make: (c) => new ScanError(c as never, 'x'),
    is: isScanError,
    name: 'ScanError',
  },
  vuln: {
    codes: VULN_ERROR_CODES,
    table: VULN_ERRORS,
    make: (c) => new VulnError(c as never, 'x'),
    is: isVulnError,
    name: 'VulnError',
  },
  seccomp: {
    codes: SECCOMP_ERROR_CODES,
    table: SECCOMP_ERRORS,
    make: (c) => new SeccompError(c as never, 'x'),
    is: isSeccompError,
    name: 'SeccompError',
  },
  trust: {
    codes: TRUST_ERROR_CODES,
    table: TRUST_ERRORS,
    make: (c) => new TrustError(c as never, 'x'),
    is: isTrustError,
    name: 'TrustError',
  },
  userns: {
    codes: USERNS_ERROR_CODES,
    table: USERNS_ERRORS,
    make: (c) => new UsernsError(c as never, 'x'),
    is: isUsernsError,
    name: 'UsernsError',
  },
};

describe('error classes', () => {
  it('every room of the error table declares its codes, a class and a guard', () => {
    expect(Object.keys(ROOMS).sort()).toEqual(Object.keys(ERROR_TABLES).sort());
    for (const [room, r] of Object.entries(ROOMS)) {
      expect(r.table, room).toBe(ERROR_TABLES[room]);
      // The list and the table name the same codes, the list without repeats.
      expect(new Set(r.codes).size, room).toBe(r.codes.length);
      expect([...r.codes].sort(), room).toEqual(Object.keys(r.table).sort());
    }
  });

  it("each class carries its code to the table's statuses, and only its own guard accepts it", () => {
    for (const [room, r] of Object.entries(ROOMS)) {
      for (const code of r.codes) {
        const e = r.make(code);
        expect(e).toBeInstanceOf(MoatError);
        expect(e.name, `${room} ${code}`).toBe(r.name);
        expect(e.code).toBe(code);
        const d = describeError(e);
        expect({ http: d.http, exit: d.exit }, code).toEqual({
          http: r.table[code].http,
          exit: r.table[code].exit,
        });
        for (const [other, o] of Object.entries(ROOMS))
          expect(o.is(e), `${other} guard on ${code}`).toBe(other === room);
      }
    }
  });

  it('UsageError is CLI_USAGE, exit 2', () => {
    const e = new UsageError('bad flag', { hint: 'h' });
    expect(e).toBeInstanceOf(CliError);
    expect(describeError(e)).toMatchObject({ code: 'CLI_USAGE', exit: 2, http: 400, hint: 'h' });
  });

  it("each class accepts only its room's codes (checked by tsc: each line below is a type error)", () => {
    const wrong = [
      // @ts-expect-error a runtime code is not an API code
      new ApiError('RUNTIME_UNSAFE_DIR', 'x'),
      // @ts-expect-error an API code is not a CLI code
      new CliError('API_INVALID_REQUEST', 'x'),
      // @ts-expect-error a trust code is not an image code
      new ImageError('TRUST_UNSIGNED', 'x'),
      // @ts-expect-error an image code is not a registry code
      new RegistryError('IMAGE_DIGEST_MISMATCH', 'x'),
      // @ts-expect-error POLICY_DENIED is the router's (API) code
      new RegoError('POLICY_DENIED', 'x'),
      // @ts-expect-error a user-namespace code is not a runtime code
      new RuntimeError('USERNS_UNAVAILABLE', 'x'),
      // @ts-expect-error a runtime code is not a seccomp code
      new SeccompError('RUNTIME_INVALID_OPTION', 'x'),
      // @ts-expect-error a registry code is not a trust code
      new TrustError('REGISTRY_DENIED', 'x'),
      // @ts-expect-error a runtime code is not a user-namespace code
      new UsernsError('RUNTIME_RUNC_MISSING', 'x'),
      // @ts-expect-error UsageError takes no code
      new UsageError('CLI_USAGE', 'x', {}),
      // @ts-expect-error a vulnerability database code is not a scan code
      new ScanError('VULN_DB_MISSING', 'x'),
      // @ts-expect-error a scan code is not a vulnerability database code
      new VulnError('SCAN_NO_DATABASE', 'x'),
    ];
    // The check is the compiler's; at run time the classes do not look at the code.
    expect(wrong).toHaveLength(12);
  });

  it('no bare MoatError with a literal code outside src/errors.ts', () => {
    const bare: string[] = [];
    for (const f of sources(SRC)) {
      if (f === path.join(SRC, 'errors.ts')) continue;
      for (const m of readFileSync(f, 'utf8').matchAll(/new MoatError\(\s*['"`]([^'"`]*)/g))
        bare.push(`${path.relative(SRC, f)}: ${m[1]}`);
    }
    expect(bare).toEqual([]);
  });
});
