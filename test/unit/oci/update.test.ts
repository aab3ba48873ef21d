/**
 * moat-runtime update: the limits asked for (flags or --resources, from a file or stdin) and the
 * container's current spec (found through `runc state`) go to the policy (oci.update) before a
 * stand-in runtime is called; runc gets a copy of what was judged.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/oci/main.js';
import { parseArgv } from '../../../src/oci/argv.js';
import { prepareUpdate, requestedPids, resourcesFromFlags } from '../../../src/oci/update.js';

const root = mkdtempSync(path.join(tmpdir(), 'moat-oci-update-'));
const out = path.join(root, 'out');
const bundle = path.join(root, 'bundle', '.moat-runtime');
const fake = path.join(root, 'fake-runc');
const POLICIES = path.resolve(import.meta.dirname, '../../../policies/authz.rego');
// `state` answers with the bundle; `update` records its arguments and the resources file.
writeFileSync(
  fake,
  `#!/bin/sh
for a in "$@"; do case "$a" in state) printf '{"id":"c1","status":"running","bundle":"${bundle}"}\\n'; exit 0;; esac; done
printf '%s\\n' "$@" > "${out}/args"
for a in "$@"; do case "$a" in --resources=*) cp "\${a#--resources=}" "${out}/resources.json";; esac; done
exit 0
`,
);
chmodSync(fake, 0o755);

const saved = { ...process.env };
afterAll(() => {
  process.env = saved;
  rmSync(root, { recursive: true, force: true });
});

let log = '';
beforeEach(() => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  mkdirSync(bundle, { recursive: true });
  // the spec moat wrote at create: pids limited to 2048
  writeFileSync(
    path.join(bundle, 'config.json'),
    JSON.stringify({ root: { path: '/r' }, linux: { resources: { pids: { limit: 2048 } } } }),
  );
  log = path.join(root, `log-${Math.random()}.json`);
  process.env = {
    ...saved,
    MOAT_POLICY: POLICIES,
    MOAT_OCI_CONFIG: path.join(root, 'no-such-oci.json'),
    XDG_CACHE_HOME: path.join(root, 'cache'),
  };
  delete process.env.MOAT_OCI_LOG;
  delete process.env.MOAT_RUNTIME_NESTED;
});

const run = (...args: string[]) =>
  main(['node', 'moat-runtime', '--runtime-binary', fake, '--log', log, '--log-format', 'json', ...args]);
const runtimeArgs = () =>
  existsSync(`${out}/args`) ? readFileSync(`${out}/args`, 'utf8').trim().split('\n') : null;
const errors = () =>
  readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { level: string; msg: string })
    .filter((l) => l.level === 'error')
    .map((l) => l.msg);

describe('moat-runtime update', () => {
  it('allows limits that keep the pids limit, and hands runc the same flags', async () => {
    expect(await run('update', '--pids-limit', '1000', '--memory', '64m', 'c1')).toBe(0);
    expect(runtimeArgs()).toEqual([
      `--log=${log}`,
      '--log-format=json',
      'update',
      '--pids-limit=1000',
      '--memory=64m',
      'c1',
    ]);
  });

  it('refuses removing or raising the pids limit by flag: runc never called, the reason in the log', async () => {
    expect(await run('update', '--pids-limit', '-1', 'c1')).toBe(1);
    expect(runtimeArgs()).toBeNull();
    expect(errors()).toContain(
      "moat-runtime: oci.update denied by rego:data.moat.authz.decision: removing container c1's pids limit is not allowed (the update asks for none)",
    );
    expect(await run('update', '--pids-limit=99999', 'c1')).toBe(1);
    expect(runtimeArgs()).toBeNull();
  });

  it('--resources FILE: judged, and runc reads a copy of what was judged', async () => {
    const file = path.join(root, 'res.json');
    writeFileSync(file, JSON.stringify({ memory: { limit: 67108864 }, pids: { limit: 500 } }));
    expect(await run('update', '--resources', file, 'c1')).toBe(0);
    const args = runtimeArgs()!;
    const res = args.find((a) => a.startsWith('--resources='))!;
    expect(res).not.toBe(`--resources=${file}`);
    expect(existsSync(res.slice('--resources='.length))).toBe(false); // removed after runc returned
    expect(JSON.parse(readFileSync(`${out}/resources.json`, 'utf8'))).toEqual({
      memory: { limit: 67108864 },
      pids: { limit: 500 },
    });
    // cgroup v2's unified map lifts it too
    writeFileSync(file, JSON.stringify({ unified: { 'pids.max': 'max' } }));
    rmSync(`${out}/args`);
    expect(await run('update', '-r', file, 'c1')).toBe(1);
    expect(runtimeArgs()).toBeNull();
  });

  it('--resources - : read from stdin (as containerd sends it)', async () => {
    const inv = (limit: number) => ({
      inv: parseArgv(['update', '--resources', '-', 'c1']),
      stdin: Readable.from([Buffer.from(JSON.stringify({ pids: { limit } }))]),
    });
    const log = { format: 'text' as const, debug: false };
    const denied = inv(-1);
    await expect(prepareUpdate(denied.inv, log, fake, [], process.env, denied.stdin)).rejects.toThrow(
      "removing container c1's pids limit is not allowed (the update asks for none)",
    );
    const ok = inv(100);
    const p = await prepareUpdate(ok.inv, log, fake, [], process.env, ok.stdin);
    const file = p.args[0].slice('--resources='.length);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ pids: { limit: 100 } });
    expect(p.args.slice(1)).toEqual(['c1']);
    await p.cleanup();
    expect(existsSync(file)).toBe(false);
  });

  it('reads the limits as runc does', () => {
    const flags = (...a: string[]) => parseArgv(['update', ...a, 'c1']).flags;
    expect(resourcesFromFlags(flags('--memory', '1.5g', '--cpu-share', '512'))).toEqual({
      memory: { limit: 1.5 * 2 ** 30 },
      cpu: { shares: 512 },
      blockIO: {},
      pids: { limit: 0 },
    });
    expect(() => resourcesFromFlags(flags('--pids-limit', 'lots'))).toThrow(/invalid value for --pids-limit/);
    expect(requestedPids({ pids: { limit: 0 } })).toBeNull();
    expect(requestedPids({ pids: { limit: -5 } })).toBe(-1);
    expect(requestedPids({ pids: { limit: 10 }, unified: { 'pids.max': '20' } })).toBe(20);
  });
});
