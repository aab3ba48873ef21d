/**
 * Issue 10, `moat system service` asks the policy (`system.service`: where it would listen, unix
 * or TCP, and how TLS clients authenticate) before it listens; a denial leaves nothing listening.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makePki } from '../helpers/pki.js';
import { http, startService, stopService } from './api-helpers.js';
import { bin, uniq } from './moat.js';
import { world, type World } from './registry-helpers.js';

let w: World;
let dumpPolicy = '';

beforeAll(() => {
  w = world('trust-svc');
  // Denies system.service with its facts as the reason; everything else is allowed.
  dumpPolicy = path.join(w.env.HOME!, 'dump-policy');
  mkdirSync(dumpPolicy);
  writeFileSync(
    path.join(dumpPolicy, 'p.rego'),
    'package moat.authz\nimport rego.v1\ndeny contains json.marshal(input.facts) if input.action == "system.service"\ndecision := {"allow": count(deny) == 0, "deny": deny}\n',
  );
});

function service(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, [bin(), 'system', 'service', ...args], {
    env: { ...w.env, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stderr: r.stderr };
}

const factsOf = (stderr: string) => {
  const m = /system\.service denied by rego:data\.moat\.authz\.decision: (\{.*\}) \[POLICY_DENIED\]/.exec(
    stderr,
  );
  expect(m, stderr).not.toBeNull();
  return JSON.parse(m![1]) as Record<string, Record<string, unknown>>;
};

describe('moat system service asks the policy before it listens', () => {
  it('unix: a denial exits 3 and nothing listens; the policy sees the canonical socket path', () => {
    const real = path.join(w.env.HOME!, uniq('real'));
    mkdirSync(real);
    const link = path.join(w.env.HOME!, uniq('link'));
    symlinkSync(real, link);
    const r = service(['--socket', path.join(link, 'denied.sock')], { MOAT_POLICY: dumpPolicy });
    expect(r.code, r.stderr).toBe(3);
    expect(existsSync(path.join(real, 'denied.sock'))).toBe(false);
    expect(factsOf(r.stderr)).toEqual({
      listen: {
        transport: 'unix',
        address: path.join(real, 'denied.sock'),
        raw: path.join(link, 'denied.sock'),
      },
    });
  });

  it('TCP: the policy sees the address and that client certificates from this CA are required', () => {
    const pki = makePki('policy CA');
    const dir = path.join(w.env.HOME!, uniq('tls'));
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'server.pem'), pki.server.cert);
    writeFileSync(path.join(dir, 'server-key.pem'), pki.server.key, { mode: 0o600 });
    writeFileSync(path.join(dir, 'ca.pem'), pki.caPem);
    const r = service(
      [
        '--tcp',
        '127.0.0.1:1',
        '--tls-cert',
        path.join(dir, 'server.pem'),
        '--tls-key',
        path.join(dir, 'server-key.pem'),
        '--tls-ca',
        path.join(dir, 'ca.pem'),
      ],
      { MOAT_POLICY: dumpPolicy },
    );
    expect(r.code, r.stderr).toBe(3);
    expect(factsOf(r.stderr)).toEqual({
      listen: { transport: 'tcp', address: '127.0.0.1:1', host: '127.0.0.1', port: 1, loopback: true },
      tls: {
        enabled: true,
        client_cert_required: true,
        ca_subjects: ['CN=policy CA'],
        min_version: 'TLSv1.2',
      },
    });
  });

  it('a socket path longer than a unix socket can have is refused with a clear error', () => {
    const r = service(['--socket', path.join(w.env.HOME!, 'x'.repeat(120), 'moat.sock')], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/at most 107 \[API_SOCKET_PATH_TOO_LONG\]/);
  });

  it('the default policy lets its owner serve; a client cannot ask system.service over the API', async () => {
    const s = await startService(w, {}, `${uniq('ok')}.sock`);
    try {
      const r = await http(
        s,
        'POST',
        '/v1/system/service',
        JSON.stringify({ transport: 'unix', address: '/x' }),
      );
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ code: 'API_INVALID_REQUEST' });
    } finally {
      await stopService(s);
    }
  });
});
