/**
 * Reading a trust policy file: the schema first (strict: unknown fields and types are errors that
 * name the scope and the field), then what a schema cannot say — one key source per
 * `sigstoreSigned`, scopes that are valid references, identities that parse — and finally the
 * resolved form moat evaluates (relative key paths made absolute against the file's directory,
 * `signedIdentity` defaulted to `matchRepoDigestOrExact`).
 */
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseReference, isRegistryHost } from '../../image/reference.js';
import { TrustError } from '../errors.js';
import { validatePolicyFile } from './schema.js';
import type { KeySource, Requirement, Requirements, SignedIdentity, TrustPolicy } from './types.js';

/** Transports containers-policy.json(5) defines; a scope under any other is refused. */
export const KNOWN_TRANSPORTS = [
  'docker',
  'atomic',
  'containers-storage',
  'dir',
  'docker-archive',
  'docker-daemon',
  'oci',
  'oci-archive',
  'sif',
  'tarball',
] as const;

const REQUIREMENT_TYPES = ['insecureAcceptAnything', 'reject', 'sigstoreSigned'];

/** The largest policy file moat reads. */
export const MAX_POLICY_BYTES = 1 << 20;

interface RawRequirement {
  type: string;
  keyPath?: string;
  keyPaths?: string[];
  keyData?: string;
  keyDatas?: string[];
  fulcio?: { caPath?: string; caData?: string; oidcIssuer: string; subjectEmail: string };
  rekorPublicKeyPath?: string;
  rekorPublicKeyPaths?: string[];
  rekorPublicKeyData?: string;
  rekorPublicKeyDatas?: string[];
  trustedRoot?: string;
  signedIdentity?: SignedIdentity;
}

interface RawPolicy {
  default: RawRequirement[];
  transports?: Record<string, Record<string, RawRequirement[]>>;
}

function invalid(file: string, where: string, what: string): TrustError {
  return new TrustError('TRUST_POLICY_INVALID', `trust policy ${file}: ${where}: ${what}`, {
    details: { file, where },
  });
}

/** `default`, or `transports.docker["registry.example.com/app"]`, and the requirement's position. */
function place(transport: string | undefined, scope: string | undefined, index?: number): string {
  const s = transport === undefined ? 'default' : `transports.${transport}[${JSON.stringify(scope)}]`;
  return index === undefined ? s : `${s} requirement ${index + 1}`;
}

/** Types first, with messages of their own (the schema's would list every alternative). */
function checkTypes(file: string, raw: unknown): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return; // the schema says it
  const visit = (reqs: unknown, transport?: string, scope?: string) => {
    if (!Array.isArray(reqs)) return;
    reqs.forEach((r, i) => {
      const type = (r as { type?: unknown } | null)?.type;
      if (type === 'signedBy')
        throw invalid(
          file,
          place(transport, scope, i),
          'GPG signatures (signedBy) are not supported by moat: use sigstoreSigned (cosign signatures)',
        );
      if (type === 'signedBaseLayer')
        throw invalid(file, place(transport, scope, i), 'signedBaseLayer is not supported by moat');
      if (typeof type === 'string' && !REQUIREMENT_TYPES.includes(type))
        throw invalid(
          file,
          place(transport, scope, i),
          `unknown requirement type ${JSON.stringify(type)} (known: ${REQUIREMENT_TYPES.join(', ')})`,
        );
    });
  };
  const o = raw as { default?: unknown; transports?: unknown };
  visit(o.default);
  if (typeof o.transports === 'object' && o.transports !== null)
    for (const [t, scopes] of Object.entries(o.transports as Record<string, unknown>))
      if (typeof scopes === 'object' && scopes !== null)
        for (const [s, reqs] of Object.entries(scopes as Record<string, unknown>)) visit(reqs, t, s);
}

/** An ajv instance path (`/transports/docker/a~1b/0/keyPth`) in the file's own terms. */
function whereOf(path: string): string {
  const parts = path
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (parts[0] === 'default') {
    const rest = parts.slice(1);
    return rest.length ? `${place(undefined, undefined, Number(rest[0]))}${tail(rest.slice(1))}` : 'default';
  }
  if (parts[0] === 'transports' && parts.length >= 3) {
    const [, t, s, i, ...more] = parts;
    return i === undefined ? place(t, s) : `${place(t, s, Number(i))}${tail(more)}`;
  }
  return parts.length ? parts.join('.') : '(the file)';
}
const tail = (parts: string[]) => (parts.length ? ` field ${parts.join('.')}` : '');

function schemaError(file: string): TrustError {
  const e = validatePolicyFile.errors?.[0];
  if (!e) return invalid(file, '(the file)', 'not a valid trust policy');
  const where = whereOf(e.instancePath);
  if (e.keyword === 'additionalProperties')
    return invalid(file, where, `unknown field ${JSON.stringify(e.params.additionalProperty)}`);
  if (e.keyword === 'required')
    return invalid(file, where, `missing field ${JSON.stringify(e.params.missingProperty)}`);
  return invalid(file, where, e.message ?? 'invalid');
}

function checkScope(file: string, transport: string, scope: string): void {
  if (!(KNOWN_TRANSPORTS as readonly string[]).includes(transport))
    throw invalid(
      file,
      `transports.${transport}`,
      `unknown transport ${JSON.stringify(transport)} (known: ${KNOWN_TRANSPORTS.join(', ')})`,
    );
  if (transport !== 'docker' || scope === '') return;
  if (scope.startsWith('*.')) {
    // `*.example.com`: every host below example.com. Nothing else may follow the wildcard.
    if (!/^\*\.(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/.test(scope))
      throw invalid(
        file,
        place(transport, scope),
        'a docker scope is a wildcard *.DOMAIN here (lower case, no path or port)',
      );
    return;
  }
  let ok = false;
  try {
    // A scope is fully qualified: a registry host, optionally a repository or namespace below it,
    // optionally a tag or digest. A host alone has no path: parse it as host/x.
    const ref = parseReference(scope.includes('/') ? scope : `${scope}/x`);
    ok = ref.host !== undefined && (scope.includes('/') || (!ref.tag && !ref.digest));
    if (ok && !scope.includes('/') && !isRegistryHost(scope)) ok = false;
  } catch {
    ok = false;
  }
  if (!ok)
    throw invalid(
      file,
      place(transport, scope),
      'a docker scope is a registry host, a namespace or repository below one (host/ns/repo), optionally with :tag or @digest, or *.DOMAIN',
    );
}

function keySources(
  dir: string,
  one: string | undefined,
  many: string[] | undefined,
  data: boolean,
): KeySource[] {
  const list = one !== undefined ? [one] : (many ?? []);
  return list.map((v) => (data ? { data: v } : { path: isAbsolute(v) ? v : resolve(dir, v) }));
}

function checkIdentity(file: string, where: string, id: SignedIdentity): void {
  const refOk = (s: string, needTagOrDigest: boolean): boolean => {
    try {
      const r = parseReference(s);
      return r.host !== undefined && (!needTagOrDigest || r.tag !== undefined || r.digest !== undefined);
    } catch {
      return false;
    }
  };
  if (id.type === 'exactReference' && !refOk(id.dockerReference, true))
    throw invalid(
      file,
      `${where} signedIdentity`,
      `dockerReference ${JSON.stringify(id.dockerReference)} is not a full reference with a tag or digest`,
    );
  if (id.type === 'exactRepository') {
    const r = (() => {
      try {
        return parseReference(id.dockerRepository);
      } catch {
        return undefined;
      }
    })();
    if (!r || !r.host || r.tag || r.digest)
      throw invalid(
        file,
        `${where} signedIdentity`,
        `dockerRepository ${JSON.stringify(id.dockerRepository)} is not a repository (host/path, no tag)`,
      );
  }
  if (id.type === 'remapIdentity')
    for (const [k, v] of [
      ['prefix', id.prefix],
      ['signedPrefix', id.signedPrefix],
    ] as const) {
      let ok = false;
      try {
        ok =
          parseReference(v.includes('/') ? v : `${v}/x`).host !== undefined &&
          !/[:@]/.test(v.split('/').slice(1).join('/'));
      } catch {
        ok = false;
      }
      if (!ok)
        throw invalid(
          file,
          `${where} signedIdentity`,
          `${k} ${JSON.stringify(v)} is not a registry host, namespace or repository`,
        );
    }
}

function resolveRequirement(file: string, dir: string, r: RawRequirement, where: string): Requirement {
  if (r.type === 'insecureAcceptAnything' || r.type === 'reject') return { type: r.type };
  const sources = (['keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio'] as const).filter(
    (k) => r[k] !== undefined,
  );
  if (sources.length !== 1)
    throw invalid(
      file,
      where,
      sources.length === 0
        ? 'sigstoreSigned needs one key source: keyPath, keyPaths, keyData, keyDatas or fulcio'
        : `sigstoreSigned takes exactly one key source, this one has ${sources.length}: ${sources.join(', ')}`,
    );
  const rekor = (
    ['rekorPublicKeyPath', 'rekorPublicKeyPaths', 'rekorPublicKeyData', 'rekorPublicKeyDatas'] as const
  ).filter((k) => r[k] !== undefined);
  if (rekor.length > 1)
    throw invalid(file, where, `at most one Rekor key source, this one has ${rekor.join(', ')}`);
  if (rekor.length && r.trustedRoot !== undefined)
    throw invalid(file, where, `trustedRoot gives the Rekor keys: ${rekor[0]} cannot be used with it`);
  let fulcio: Extract<Requirement, { type: 'sigstoreSigned' }>['fulcio'];
  if (r.fulcio) {
    const cas = (['caPath', 'caData'] as const).filter((k) => r.fulcio![k] !== undefined);
    if (cas.length > 1)
      throw invalid(file, `${where} field fulcio`, 'caPath and caData cannot both be given');
    if (cas.length === 0 && r.trustedRoot === undefined)
      throw invalid(
        file,
        `${where} field fulcio`,
        'fulcio needs caPath or caData (or a trustedRoot beside it)',
      );
    if (cas.length === 1 && r.trustedRoot !== undefined)
      throw invalid(
        file,
        `${where} field fulcio`,
        `trustedRoot gives the Fulcio CAs: ${cas[0]} cannot be used with it`,
      );
    const ca: KeySource | undefined = r.fulcio.caPath
      ? { path: isAbsolute(r.fulcio.caPath) ? r.fulcio.caPath : resolve(dir, r.fulcio.caPath) }
      : r.fulcio.caData
        ? { data: r.fulcio.caData }
        : undefined;
    fulcio = { ca: ca ?? { path: '' }, oidcIssuer: r.fulcio.oidcIssuer, subjectEmail: r.fulcio.subjectEmail };
  }
  const signedIdentity = r.signedIdentity ?? { type: 'matchRepoDigestOrExact' };
  checkIdentity(file, where, signedIdentity);
  return {
    type: 'sigstoreSigned',
    keys: [...keySources(dir, r.keyPath, r.keyPaths, false), ...keySources(dir, r.keyData, r.keyDatas, true)],
    ...(fulcio ? { fulcio } : {}),
    rekorKeys: [
      ...keySources(dir, r.rekorPublicKeyPath, r.rekorPublicKeyPaths, false),
      ...keySources(dir, r.rekorPublicKeyData, r.rekorPublicKeyDatas, true),
    ],
    ...(r.trustedRoot !== undefined
      ? { trustedRoot: isAbsolute(r.trustedRoot) ? r.trustedRoot : resolve(dir, r.trustedRoot) }
      : {}),
    signedIdentity,
  };
}

/**
 * Parses the text of a trust policy read from `file` (used for messages and to resolve relative
 * paths). `digest` identifies the policy for verification records; by default the sha256 of the
 * text (the loader adds the bytes of the key files it names).
 */
const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** `{"type": "insecureAcceptAnything"}` or `{"type": "reject"}`, nothing else. */
function plainRequirements(x: unknown): boolean {
  if (!Array.isArray(x)) return false;
  for (const r of x) {
    if (!isPlainObject(r)) return false;
    const keys = Object.keys(r);
    if (keys.length !== 1 || keys[0] !== 'type') return false;
    if (r.type !== 'insecureAcceptAnything' && r.type !== 'reject') return false;
  }
  return true;
}

/**
 * A policy of `insecureAcceptAnything` and `reject` requirements only (podman's default
 * /etc/containers/policy.json, the built-in default): one the schema accepts, known without
 * loading its validator (81 KB of generated code, ~5 ms of every run that reads the policy).
 * Anything else is left to the validator.
 */
function onlyPlainRequirements(raw: unknown): boolean {
  if (!isPlainObject(raw)) return false;
  for (const k of Object.keys(raw)) if (k !== 'default' && k !== 'transports') return false;
  if (!plainRequirements(raw.default)) return false;
  if (raw.transports === undefined) return true;
  if (!isPlainObject(raw.transports)) return false;
  for (const scopes of Object.values(raw.transports)) {
    if (!isPlainObject(scopes)) return false;
    for (const reqs of Object.values(scopes)) if (!plainRequirements(reqs)) return false;
  }
  return true;
}

export function parsePolicy(text: string, file: string, digest?: string): TrustPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalid(file, '(the file)', `not valid JSON: ${(e as Error).message}`);
  }
  checkTypes(file, raw);
  if (!onlyPlainRequirements(raw) && !validatePolicyFile(raw)) throw schemaError(file);
  const p = raw as RawPolicy;
  const dir = dirname(file);
  const resolveAll = (reqs: RawRequirement[], transport?: string, scope?: string): Requirements =>
    reqs.map((r, i) => resolveRequirement(file, dir, r, place(transport, scope, i)));
  const transports: TrustPolicy['transports'] = {};
  for (const [t, scopes] of Object.entries(p.transports ?? {})) {
    transports[t] = {};
    for (const [s, reqs] of Object.entries(scopes)) {
      checkScope(file, t, s);
      transports[t][s] = resolveAll(reqs, t, s);
    }
  }
  return {
    source: file,
    digest: digest ?? `sha256:${createHash('sha256').update(text).digest('hex')}`,
    default: resolveAll(p.default),
    transports,
  };
}
