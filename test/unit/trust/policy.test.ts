import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  identityMatches,
  loadTrustPolicy,
  lookup,
  parsePolicy,
  type TrustPolicy,
} from '../../../src/trust/policy/index.js';
import { parseReference } from '../../../src/image/reference.js';
import { isTrustError } from '../../../src/trust/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'moat-trust-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FILE = '/etc/moat-test/policy.json';
function parse(p: unknown): TrustPolicy {
  return parsePolicy(JSON.stringify(p), FILE);
}
function error(p: unknown): { code: string; message: string } {
  try {
    parse(p);
  } catch (e) {
    expect(isTrustError(e), String(e)).toBe(true);
    return e as { code: string; message: string };
  }
  throw new Error('parsed');
}
const key = { type: 'sigstoreSigned', keyPath: 'keys/ci.pub' };

describe('trust policy file', () => {
  it('reads the containers-policy.json format, resolving relative key paths against its directory', () => {
    const p = parse({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          'registry.example.com/team': [key],
          'registry.example.com/team/app:1': [{ type: 'insecureAcceptAnything' }],
          '*.example.com': [
            { type: 'sigstoreSigned', keyData: 'UEVN', signedIdentity: { type: 'matchRepository' } },
          ],
          '': [{ type: 'reject' }],
        },
        'docker-daemon': { '': [{ type: 'insecureAcceptAnything' }] },
      },
    });
    expect(p.default).toEqual([{ type: 'reject' }]);
    const r = p.transports.docker['registry.example.com/team'][0];
    expect(r).toEqual({
      type: 'sigstoreSigned',
      keys: [{ path: '/etc/moat-test/keys/ci.pub' }],
      rekorKeys: [],
      signedIdentity: { type: 'matchRepoDigestOrExact' },
    });
    expect(p.transports.docker['*.example.com'][0]).toMatchObject({ keys: [{ data: 'UEVN' }] });
    expect(p.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('refuses unknown fields and types, naming the scope and the field', () => {
    let e = error({ default: [{ type: 'sigstoreSigned', keyPth: '/k' }] });
    expect(e.code).toBe('TRUST_POLICY_INVALID');
    expect(e.message).toMatch(/default requirement 1.*unknown field "keyPth"/);
    e = error({ default: [], transports: { docker: { 'r.example.com/a': [{ type: 'signedByKey' }] } } });
    expect(e.message).toMatch(
      /transports\.docker\["r\.example\.com\/a"\] requirement 1: unknown requirement type "signedByKey"/,
    );
    e = error({ default: [], extra: 1 });
    expect(e.message).toMatch(/unknown field "extra"/);
    e = error({ default: [], transports: { dockr: { '': [] } } });
    expect(e.message).toMatch(/unknown transport "dockr"/);
    e = error({ default: [{ type: 'reject', keyPath: '/k' }] });
    expect(e.message).toMatch(/unknown field "keyPath"/);
    e = error({
      default: [],
      transports: {
        docker: { 'r.example.com': [{ ...key, signedIdentity: { type: 'matchRepository', x: 1 } }] },
      },
    });
    expect(e.message).toMatch(/requirement 1 field signedIdentity: unknown field "x"/);
  });

  it('refuses GPG signedBy with a message saying so', () => {
    const e = error({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k.gpg' }] });
    expect(e.message).toMatch(/GPG signatures \(signedBy\) are not supported by moat: use sigstoreSigned/);
  });

  it('takes exactly one key source per sigstoreSigned', () => {
    expect(error({ default: [{ type: 'sigstoreSigned' }] }).message).toMatch(/needs one key source/);
    expect(error({ default: [{ ...key, keyData: 'QQ==' }] }).message).toMatch(
      /exactly one key source, this one has 2: keyPath, keyData/,
    );
    expect(
      error({
        default: [{ ...key, fulcio: { caPath: '/ca', oidcIssuer: 'https://i', subjectEmail: 'a@b' } }],
      }).message,
    ).toMatch(/exactly one key source/);
    expect(
      error({ default: [{ ...key, rekorPublicKeyPath: '/r', rekorPublicKeyData: 'QQ==' }] }).message,
    ).toMatch(/at most one Rekor key source/);
    expect(
      error({
        default: [{ type: 'sigstoreSigned', fulcio: { oidcIssuer: 'https://i', subjectEmail: 'a@b' } }],
      }).message,
    ).toMatch(/fulcio needs caPath or caData/);
    // a trusted root stands in for the CA and the Rekor keys
    const p = parse({
      default: [
        {
          type: 'sigstoreSigned',
          fulcio: { oidcIssuer: 'https://i', subjectEmail: 'a@b' },
          trustedRoot: 'root.json',
        },
      ],
    });
    expect(p.default[0]).toMatchObject({ trustedRoot: '/etc/moat-test/root.json' });
  });

  it('refuses a docker scope that is not a valid, fully qualified reference', () => {
    for (const scope of [
      'busybox',
      'Registry.example.com/A',
      'r.example.com/a:b:c',
      '*.',
      '*.example.com/x',
      'r.example.com/a@sha256:12',
    ])
      expect(error({ default: [], transports: { docker: { [scope]: [] } } }).message, scope).toMatch(
        /a docker scope is/,
      );
    for (const scope of [
      'localhost',
      'localhost:5000',
      'r.example.com/a/b:1',
      'r.example.com:443/a',
      `r.io/a@sha256:${'a'.repeat(64)}`,
    ])
      expect(() => parse({ default: [], transports: { docker: { [scope]: [] } } }), scope).not.toThrow();
  });

  it('checks identities that name references', () => {
    expect(
      error({ default: [{ ...key, signedIdentity: { type: 'exactReference', dockerReference: 'r.io/a' } }] })
        .message,
    ).toMatch(/not a full reference with a tag or digest/);
    expect(
      error({
        default: [{ ...key, signedIdentity: { type: 'exactRepository', dockerRepository: 'r.io/a:1' } }],
      }).message,
    ).toMatch(/is not a repository/);
  });

  it('policies of insecureAcceptAnything and reject only (read without the validator) parse as before', () => {
    for (const p of [
      { default: [{ type: 'insecureAcceptAnything' }] },
      { default: [] },
      { default: [{ type: 'reject' }], transports: {} },
      {
        default: [{ type: 'reject' }],
        transports: { docker: { 'registry.example.com': [{ type: 'insecureAcceptAnything' }] } },
      },
      { default: [{ type: 'reject' }], transports: { docker: {} } },
    ])
      expect(parse(p).default.map((r) => r.type)).toEqual(p.default.map((r) => r.type));
    // Anything more is the schema's to judge: its errors are the same as ever.
    expect(error({ default: [{ type: 'reject', extra: 1 }] }).message).toMatch(/unknown field "extra"/);
    expect(error({ default: [{ type: 'reject' }], other: [] }).message).toMatch(/unknown field "other"/);
    expect(error({ transports: {} }).message).toMatch(/missing field "default"/);
    expect(error({ default: {} }).code).toBe('TRUST_POLICY_INVALID');
    expect(error({ default: [{ type: 'reject' }], transports: { docker: [] } }).code).toBe(
      'TRUST_POLICY_INVALID',
    );
    expect(error({ default: [{ type: 'reject' }], transports: { docker: { x: {} } } }).code).toBe(
      'TRUST_POLICY_INVALID',
    );
    expect(error({ default: [null] }).code).toBe('TRUST_POLICY_INVALID');
    expect(error([]).code).toBe('TRUST_POLICY_INVALID');
  });

  it('reports malformed JSON as an invalid policy', () => {
    try {
      parsePolicy('{"default": [', FILE);
      throw new Error('parsed');
    } catch (e) {
      expect((e as { code: string }).code).toBe('TRUST_POLICY_INVALID');
    }
  });
});

describe('scope lookup', () => {
  const p = parse({
    default: [{ type: 'reject' }],
    transports: {
      docker: {
        'r.example.com/team/app:1': [{ type: 'insecureAcceptAnything' }],
        'r.example.com/team/app': [key],
        'r.example.com/team': [{ type: 'sigstoreSigned', keyData: 'QQ==' }],
        'r.example.com': [{ type: 'reject' }],
        '*.corp.example.com': [{ type: 'insecureAcceptAnything' }],
        '*.example.com': [{ type: 'reject' }],
      },
    },
  });
  const at = (ref: string) => {
    const m = lookup(p, ref);
    return [m.scope, m.kind];
  };
  it('goes from the exact reference to the repository, namespaces, host, wildcards, then the defaults', () => {
    expect(at('r.example.com/team/app:1')).toEqual(['r.example.com/team/app:1', 'exact reference']);
    expect(at('r.example.com/team/app:2')).toEqual(['r.example.com/team/app', 'repository']);
    expect(at(`r.example.com/team/app@sha256:${'b'.repeat(64)}`)).toEqual([
      'r.example.com/team/app',
      'repository',
    ]);
    expect(at('r.example.com/team/other/deep:1')).toEqual(['r.example.com/team', 'namespace']);
    expect(at('r.example.com/x:1')).toEqual(['r.example.com', 'namespace']);
    expect(at('a.corp.example.com/x:1')).toEqual(['*.corp.example.com', 'wildcard']);
    expect(at('b.a.corp.example.com:5000/x:1')).toEqual(['*.corp.example.com', 'wildcard']);
    expect(at('example.com/x:1')).toEqual([undefined, 'default']);
    expect(at('other.io/x:1')).toEqual([undefined, 'default']);
  });
  it('uses the transport default before the global one', () => {
    const q = parse({
      default: [{ type: 'reject' }],
      transports: { docker: { '': [{ type: 'insecureAcceptAnything' }] } },
    });
    expect(lookup(q, 'other.io/x:1')).toMatchObject({ scope: '', kind: 'transport default' });
  });
  it('a name that only looks like a scope does not match it', () => {
    expect(at('r.example.com/teamx/app:1')).toEqual(['r.example.com', 'namespace']);
    expect(at('r.example.com/team/app2:1')).toEqual(['r.example.com/team', 'namespace']);
  });
});

describe('signedIdentity', () => {
  const ref = (s: string) => parseReference(s);
  const D = `sha256:${'c'.repeat(64)}`;
  it('matchRepoDigestOrExact: the exact tag, or the repository when verified by digest', () => {
    const id = { type: 'matchRepoDigestOrExact' } as const;
    expect(identityMatches(id, ref('r.io/a/b:1'), 'r.io/a/b:1')).toBe(true);
    expect(identityMatches(id, ref('r.io/a/b:1'), 'r.io/a/b:2')).toBe(false);
    expect(identityMatches(id, ref('r.io/a/b:1'), 'r.io/a/b')).toBe(false);
    expect(identityMatches(id, ref(`r.io/a/b@${D}`), 'r.io/a/b:9')).toBe(true);
    expect(identityMatches(id, ref(`r.io/a/b@${D}`), 'r.io/a/c:9')).toBe(false);
  });
  it('matchRepository and exactRepository compare repositories, never substrings', () => {
    const id = { type: 'matchRepository' } as const;
    expect(identityMatches(id, ref('r.io/a/b:1'), 'r.io/a/b')).toBe(true);
    expect(identityMatches(id, ref('r.io/a/b:1'), 'r.io/a/b-evil')).toBe(false);
    expect(identityMatches(id, ref('r.io/a/b:1'), 'evil.io/r.io/a/b')).toBe(false);
    expect(identityMatches(id, ref('r.io/a/b:1'), 'r.io/a/b/c')).toBe(false);
    expect(
      identityMatches({ type: 'exactRepository', dockerRepository: 'r.io/x' }, ref('r.io/a:1'), 'r.io/x:7'),
    ).toBe(true);
    expect(
      identityMatches({ type: 'exactRepository', dockerRepository: 'r.io/x' }, ref('r.io/a:1'), 'r.io/xy'),
    ).toBe(false);
  });
  it('normalises Docker Hub names and refuses garbage', () => {
    expect(identityMatches({ type: 'matchRepository' }, ref('docker.io/library/busybox:1'), 'busybox')).toBe(
      true,
    );
    expect(
      identityMatches({ type: 'matchRepository' }, ref('docker.io/library/busybox:1'), 'docker.io/busybox:2'),
    ).toBe(true);
    expect(identityMatches({ type: 'matchRepository' }, ref('r.io/a:1'), 'not a ref')).toBe(false);
  });
  it('exactReference and matchExact', () => {
    expect(
      identityMatches({ type: 'exactReference', dockerReference: 'r.io/a:1' }, ref('r.io/b:2'), 'r.io/a:1'),
    ).toBe(true);
    expect(
      identityMatches({ type: 'exactReference', dockerReference: 'r.io/a:1' }, ref('r.io/b:2'), 'r.io/a:2'),
    ).toBe(false);
    expect(identityMatches({ type: 'matchExact' }, ref('r.io/a:1'), 'r.io/a:1')).toBe(true);
    expect(identityMatches({ type: 'matchExact' }, ref(`r.io/a@${D}`), 'r.io/a:1')).toBe(false);
  });
  it('remapIdentity rewrites the prefix at a component boundary', () => {
    const id = { type: 'remapIdentity', prefix: 'mirror.local/up', signedPrefix: 'r.io/team' } as const;
    expect(identityMatches(id, ref('mirror.local/up/app:1'), 'r.io/team/app:1')).toBe(true);
    expect(identityMatches(id, ref('mirror.local/upx/app:1'), 'r.io/team/app:1')).toBe(false);
    expect(identityMatches(id, ref('mirror.local/up/app:1'), 'mirror.local/up/app:1')).toBe(false);
  });
});

describe('where the trust policy comes from', () => {
  it('--trust, then the user file, then /etc/containers/policy.json, then the built-in default', () => {
    const home = path.join(dir, 'home');
    const sys = path.join(dir, 'system.json');
    const env = { HOME: home } as NodeJS.ProcessEnv;
    expect(loadTrustPolicy({ env, systemPath: path.join(dir, 'none.json') }).source).toBe('builtin');
    writeFileSync(sys, JSON.stringify({ default: [{ type: 'reject' }] }));
    expect(loadTrustPolicy({ env, systemPath: sys }).source).toBe(sys);
    mkdirSync(path.join(home, '.config', 'moat'), { recursive: true });
    const user = path.join(home, '.config', 'moat', 'policy.json');
    writeFileSync(user, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    expect(loadTrustPolicy({ env, systemPath: sys }).source).toBe(user);
    const given = path.join(dir, 'given.json');
    writeFileSync(given, JSON.stringify({ default: [{ type: 'reject' }] }));
    expect(loadTrustPolicy({ env, systemPath: sys, file: given }).source).toBe(given);
    expect(loadTrustPolicy({ env: { ...env, MOAT_TRUST: given }, systemPath: sys }).source).toBe(given);
    expect(() => loadTrustPolicy({ env, file: path.join(dir, 'missing.json') })).toThrow(/no such file/);
  });

  it('the digest changes when a key file the policy names changes', () => {
    const f = path.join(dir, 'keyed.json');
    writeFileSync(path.join(dir, 'k.pub'), 'one');
    writeFileSync(f, JSON.stringify({ default: [{ type: 'sigstoreSigned', keyPath: 'k.pub' }] }));
    const a = loadTrustPolicy({ file: f }).digest;
    writeFileSync(path.join(dir, 'k.pub'), 'two');
    expect(loadTrustPolicy({ file: f }).digest).not.toBe(a);
  });

  it('refuses a policy path that is not a regular file', () => {
    expect(() => loadTrustPolicy({ file: dir })).toThrow(/not a regular file/);
  });
});
