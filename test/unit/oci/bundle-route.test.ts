/**
 * POST /oci/create-bundle, the fast path's route: the service reads the caller's bundle (as
 * hostile input), decides oci.create with the default policy on the same facts as
 * /oci/create, and writes <bundle>/.moat-runtime/config.json as create.ts does. Only a local
 * subject may name a bundle.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { policyPaths, regoHook } from '../../../src/api/policy-hook.js';
import { Router, type Subject } from '../../../src/api/router.js';
import { ociBundleRoutes, type OciBundleAnswer } from '../../../src/oci/bundle-route.js';
import { ociRoutes } from '../../../src/oci/routes.js';

const root = mkdtempSync(path.join(tmpdir(), 'moat-oci-bundle-route-'));
const POLICIES = path.resolve(import.meta.dirname, '../../../policies/authz.rego');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const decided: { action: string; facts: Record<string, unknown> }[] = [];
const hook = regoHook(policyPaths({ MOAT_POLICY: POLICIES, XDG_CACHE_HOME: path.join(root, 'cache') }));
const router = new Router([...ociRoutes(), ...ociBundleRoutes()], async (input) => {
  decided.push({ action: input.action, facts: input.facts });
  return hook(input);
});

const LOCAL: Subject = { uid: 1000, user: 'u', via: 'api', local: true };
const REMOTE: Subject = { uid: -1, user: 'cn=someone', via: 'api', local: false, groups: [] };
const CAPS = ['CAP_CHOWN', 'CAP_KILL'];

let n = 0;
let bundle = '';
beforeEach(() => {
  decided.length = 0;
  bundle = path.join(root, `bundle-${++n}`);
  mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
});

function spec(caps = CAPS, extra: Record<string, unknown> = {}) {
  return {
    ociVersion: '1.0.2-dev',
    process: { args: ['true'], capabilities: { bounding: caps, effective: caps } },
    root: { path: 'rootfs' },
    mounts: [{ destination: '/data', type: 'bind', source: 'data', options: ['rbind'] }],
    linux: { namespaces: ['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type })) },
    ...extra,
  };
}

function writeSpec(s: unknown = spec()): string {
  const text = JSON.stringify(s);
  writeFileSync(path.join(bundle, 'config.json'), text);
  return text;
}

async function ask(
  body: Record<string, unknown>,
  subject = LOCAL,
): Promise<[string, OciBundleAnswer | string]> {
  try {
    const r = await router.handle({ subject, method: 'POST', path: '/oci/create-bundle', body });
    return ['ok', r as OciBundleAnswer];
  } catch (e) {
    return [(e as { code?: string }).code ?? 'no code', (e as Error).message];
  }
}

describe('POST /oci/create-bundle', () => {
  it('allowed: writes the hardened spec in <bundle>/.moat-runtime, answers with it and the log lines', async () => {
    const original = writeSpec();
    const [code, a] = await ask({ id: 'c1', bundle, logFormat: 'text' });
    expect(code).toBe('ok');
    const answer = a as OciBundleAnswer;
    expect(answer.dir).toBe(path.join(bundle, '.moat-runtime'));
    expect(readdirSync(answer.dir)).toEqual(['config.json']);
    expect(lstatSync(answer.dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(path.join(bundle, 'config.json'), 'utf8')).toBe(original);
    const got = JSON.parse(readFileSync(path.join(answer.dir, 'config.json'), 'utf8'));
    expect(got.root.path).toBe(path.join(bundle, 'rootfs'));
    expect(got.mounts[0].source).toBe(path.join(bundle, 'data'));
    expect(got.process.noNewPrivileges).toBe(true);
    expect(got.linux.seccomp.defaultAction).toBe('SCMP_ACT_ERRNO');
    // The lines: the caller's format for --log, JSON for $MOAT_OCI_LOG.
    expect(answer.log).toMatch(
      /^time="[^"]+" level=info msg="moat: oci.create allowed" id=c1 front=native\n/,
    );
    const json = answer.decisions
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; id: string });
    expect(json[0]).toMatchObject({ msg: 'moat: oci.create allowed', id: 'c1', front: 'native' });
    expect(json.map((l) => l.msg)).toContain('moat: hardened process.noNewPrivileges: set to true');
    expect(answer.changes.length).toBe(json.length - 1);
  });

  it('decides on the same facts as /oci/create (the policy and its tests apply unchanged)', async () => {
    writeSpec();
    expect((await ask({ id: 'c1', bundle }))[0]).toBe('ok');
    const real = await router.handle({
      subject: LOCAL,
      method: 'POST',
      path: '/oci/create',
      body: { id: 'c1', bundle, spec: spec() },
    });
    expect(real).toBeTruthy();
    expect(decided.map((d) => d.action)).toEqual(['oci.create', 'oci.create']);
    expect(decided[0].facts).toEqual(decided[1].facts);
  });

  it('denied: SYS_ADMIN by the default policy, nothing written', async () => {
    writeSpec(spec([...CAPS, 'CAP_SYS_ADMIN']));
    expect(await ask({ id: 'c1', bundle })).toEqual([
      'POLICY_DENIED',
      "oci.create denied by rego:data.moat.authz.decision: capability SYS_ADMIN is not allowed (the container's spec asks for it)",
    ]);
    expect(existsSync(path.join(bundle, '.moat-runtime'))).toBe(false);
  });

  it('audit mode: the spec as it came, the changes as would-be', async () => {
    writeSpec();
    const [, a] = await ask({ id: 'c1', bundle, mode: 'audit', logFormat: 'json' });
    const answer = a as OciBundleAnswer;
    expect(answer.applied).toBe(false);
    const got = JSON.parse(readFileSync(path.join(answer.dir, 'config.json'), 'utf8'));
    expect(got.process.noNewPrivileges).toBeUndefined();
    expect(answer.log).toContain('"msg":"moat: audit: would harden process.noNewPrivileges: set to true"');
  });

  it('refuses a remote (TLS) subject before reading anything', async () => {
    writeSpec();
    const [code, msg] = await ask({ id: 'c1', bundle }, REMOTE);
    expect(code).toBe('OCI_UNSUPPORTED');
    const e = await router
      .handle({ subject: REMOTE, method: 'POST', path: '/oci/create-bundle', body: { id: 'c1', bundle } })
      .then(
        () => ({ hint: 'resolved' }),
        (x: unknown) => x as { hint?: string },
      );
    expect(e.hint).toMatch(/^POST \/v1\/oci\/create with the spec in the body/);
    expect(msg).toMatch(/only a local subject \(the unix socket\) may name one/);
    expect(decided).toEqual([]);
    expect(existsSync(path.join(bundle, '.moat-runtime'))).toBe(false);
  });

  it('reads the bundle as hostile input: a symlinked config.json, an oversized one, misspelled keys', async () => {
    const outside = path.join(root, `outside-${n}.json`);
    writeFileSync(outside, JSON.stringify(spec()));
    symlinkSync(outside, path.join(bundle, 'config.json'));
    expect(await ask({ id: 'c1', bundle })).toEqual([
      'OCI_BUNDLE_INVALID',
      `${bundle}/config.json: a symlink (refused: it could name a file outside the bundle)`,
    ]);
    rmSync(path.join(bundle, 'config.json'));
    writeFileSync(path.join(bundle, 'config.json'), ' '.repeat((4 << 20) + 1));
    expect(await ask({ id: 'c1', bundle })).toEqual([
      'OCI_BUNDLE_INVALID',
      `${bundle}/config.json: larger than ${4 << 20} bytes`,
    ]);
    const s = spec() as Record<string, unknown>;
    s.Process = { args: ['sh'], capabilities: { bounding: ['CAP_SYS_ADMIN'] } };
    writeSpec(s);
    const [code, msg] = await ask({ id: 'c1', bundle });
    expect(code).toBe('OCI_SPEC_INVALID');
    expect(msg).toMatch(/key "Process" at \(spec\) is not spelled "process"/);
    expect(decided).toEqual([]);
    expect(existsSync(path.join(bundle, '.moat-runtime'))).toBe(false);
  });

  it('refuses a relative bundle, an ID runc would refuse and unknown fields', async () => {
    writeSpec();
    expect((await ask({ id: 'c1', bundle: 'rel/bundle' }))[0]).toBe('API_INVALID_REQUEST');
    expect((await ask({ id: '../x', bundle }))[0]).toBe('OCI_INVALID_ID');
    expect((await ask({ id: 'c1', bundle, spec: spec() }))[0]).toBe('API_INVALID_REQUEST');
    expect(existsSync(path.join(bundle, '.moat-runtime'))).toBe(false);
  });

  it('replaces a .moat-runtime that is a symlink without following it', async () => {
    const elsewhere = path.join(root, `elsewhere-${n}`);
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, path.join(bundle, '.moat-runtime'));
    writeSpec();
    expect((await ask({ id: 'c1', bundle }))[0]).toBe('ok');
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(lstatSync(path.join(bundle, '.moat-runtime')).isDirectory()).toBe(true);
  });
});
