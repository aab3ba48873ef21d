/**
 * Runs the sigstore client conformance suite's bundle verification cases
 * (github:sigstore/sigstore-conformance, test/assets/bundle-verify) against `moat trust
 * verify-blob`, as its docs/cli_protocol.md drives a client: each case directory holds
 * bundle.sigstore.json and optionally artifact, identity, issuer, key.pub, trusted_root.json; a
 * name ending in `_fail` must be rejected. Each case runs twice, as the suite does: with the
 * artifact's path and with its `sha256:` digest. The cases are never committed here.
 *
 *   MOAT_SIGSTORE_CONFORMANCE=/path/to/test/assets/bundle-verify npx vite-node scripts/sigstore-conformance.ts [--filter substr] [--verbose] [--json]
 *
 * Without the variable (or a directory argument) it says so and exits 2: a run that did not
 * happen is not a pass. Exit status 0 only when every case passed in both modes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/cli/index.js';

const CERTIFICATE_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const CERTIFICATE_OIDC_ISSUER = 'https://token.actions.githubusercontent.com';

const args = process.argv.slice(2);
const flag = (n: string) => args.includes(n);
const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1] : undefined;
const dir =
  args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--filter') ??
  process.env.MOAT_SIGSTORE_CONFORMANCE;

if (!dir || !existsSync(dir)) {
  process.stderr.write(
    `sigstore conformance: NOT RUN: ${dir ? `${dir} does not exist` : 'MOAT_SIGSTORE_CONFORMANCE is not set'}.\n` +
      'Set it to a copy of sigstore-conformance/test/assets/bundle-verify (never committed here).\n',
  );
  process.exit(2);
}

/** Runs `moat ARGS` in-process, its output swallowed; returns the exit status and stderr. */
async function moat(argv: string[]): Promise<{ status: number; err: string }> {
  const out = process.stdout.write.bind(process.stdout);
  const errw = process.stderr.write.bind(process.stderr);
  let err = '';
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    err += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { status: await main(['node', 'moat', ...argv]), err };
  } finally {
    process.stdout.write = out;
    process.stderr.write = errw;
  }
}

const read = (p: string) => readFileSync(p, 'utf8').trim();
const cases = readdirSync(dir)
  .filter((n) => statSync(join(dir, n)).isDirectory() && (!filter || n.includes(filter)))
  .sort();
const results: { case: string; mode: string; pass: boolean; status: number; why: string }[] = [];
for (const name of cases) {
  const d = join(dir, name);
  const artifact = existsSync(join(d, 'artifact')) ? join(d, 'artifact') : join(dir, 'a.txt');
  const signer = existsSync(join(d, 'key.pub'))
    ? ['--key', join(d, 'key.pub')]
    : [
        '--certificate-identity',
        existsSync(join(d, 'identity')) ? read(join(d, 'identity')) : CERTIFICATE_IDENTITY,
        '--certificate-oidc-issuer',
        existsSync(join(d, 'issuer')) ? read(join(d, 'issuer')) : CERTIFICATE_OIDC_ISSUER,
      ];
  const root = existsSync(join(d, 'trusted_root.json'))
    ? ['--trusted-root', join(d, 'trusted_root.json')]
    : [];
  const digest = `sha256:${createHash('sha256').update(readFileSync(artifact)).digest('hex')}`;
  for (const [mode, subject] of [
    ['path', artifact],
    ['digest', digest],
  ] as const) {
    const r = await moat([
      'trust',
      'verify-blob',
      '--bundle',
      join(d, 'bundle.sigstore.json'),
      ...signer,
      ...root,
      subject,
    ]);
    const mustFail = name.endsWith('_fail');
    // A rejection must be a trust failure (exit 4), not a crash or a usage error.
    const pass = mustFail ? r.status === 4 : r.status === 0;
    results.push({ case: name, mode, pass, status: r.status, why: r.err.split('\n')[0] ?? '' });
  }
}

const passed = (mode: string) => results.filter((r) => r.mode === mode && r.pass).length;
const failed = results.filter((r) => !r.pass);
if (flag('--json')) process.stdout.write(`${JSON.stringify({ cases: cases.length, results }, null, 2)}\n`);
else {
  for (const r of flag('--verbose') ? results : failed)
    process.stdout.write(`${r.pass ? 'PASS' : 'FAIL'} ${r.case} (${r.mode}) exit ${r.status} ${r.why}\n`);
  process.stdout.write(
    `sigstore conformance (bundle-verify): ${passed('path')}/${cases.length} cases by path, ${passed('digest')}/${cases.length} by digest\n`,
  );
}
process.exit(failed.length ? 1 : 0);
