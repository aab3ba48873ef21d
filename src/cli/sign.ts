/**
 * Signing and verification commands: `moat key generate`, `moat sign`, `moat verify`, and the
 * `--trust FILE` option of the commands that consult the trust policy. Each builds one request to
 * the router (app.ts), so the admission policy decides them like any other request.
 */
import { Command, Option } from 'commander';
import * as path from 'node:path';
import { request } from './app.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { json } from './output.js';
import { closeNet, tlsOption } from './net-options.js';

/** `--trust FILE`: the trust policy for this command (else ~/.config/moat/policy.json, /etc/containers/policy.json). */
export const trustOption = () =>
  new Option('--trust <file>', 'trust policy file (containers-policy.json format) for this command');

/** Applies a command's `--trust` before it runs (the routes read `$MOAT_TRUST`). */
export function applyTrustOption(cmd: Command): void {
  const t = (cmd.opts() as { trust?: unknown }).trust;
  if (typeof t === 'string' && t) process.env.MOAT_TRUST = path.resolve(t);
}

const formatOption = () =>
  new Option('--format <format>', 'output: text, or one JSON object (json)')
    .choices(['text', 'json'])
    .default('text');

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** The key's password: `--password-stdin`, else `$MOAT_PASSWORD`, else none. */
async function password(stdin: boolean | undefined): Promise<string | undefined> {
  if (stdin) return readStdin();
  return process.env.MOAT_PASSWORD || undefined;
}

interface Outcome {
  layer: string;
  kind: string;
  ok: boolean;
  code?: string;
  reason?: string;
  keyId?: string;
  identity?: string;
}
interface VerifyResult {
  accepted: boolean;
  verified: boolean;
  reference: string;
  digest: string;
  policy: { source: string; digest: string };
  scope: { transport: string; scope?: string; kind: string };
  requirements: { type: string; ok: boolean; code?: string; reason?: string }[];
  signatures: {
    kind: string;
    key_id?: string;
    subject?: string;
    issuer?: string;
    identity?: string;
    tlog?: unknown;
  }[];
  checked: Outcome[];
  attestations: {
    predicate_type: string;
    source: string;
    note?: string;
    signer: { key_id?: string; subject?: string };
  }[];
  checkedAttestations?: {
    source: string;
    id: string;
    ok: boolean;
    predicate_type?: string;
    code?: string;
    reason?: string;
  }[];
  error?: { code: string; message: string };
  recorded: boolean;
}

const scopeText = (s: VerifyResult['scope']) =>
  s.scope === undefined
    ? 'default'
    : s.scope === ''
      ? `${s.transport} (transport default)`
      : `${s.scope} (${s.kind})`;

export function registerSignCommands(program: Command, state: CliState): void {
  const key = program.command('key').description('signing keys');
  key
    .command('generate')
    .description(
      'make an ECDSA P-256 key pair: NAME.key (PKCS#8 PEM, 0600) and NAME.pub (for a trust policy keyPath)',
    )
    .option('--output-key-prefix <name>', 'file name prefix', 'moat')
    .option(
      '--password-stdin',
      'read the password that encrypts the private key from stdin (else $MOAT_PASSWORD; none: unencrypted)',
    )
    .addOption(formatOption())
    .action(async (f: { outputKeyPrefix: string; passwordStdin?: boolean; format: string }) => {
      state.json = f.format === 'json';
      const res = await request<{ privateKey: string; publicKey: string; keyId: string }>(
        'POST',
        '/keys/generate',
        {
          prefix: path.resolve(f.outputKeyPrefix),
          password: (await password(f.passwordStdin)) ?? '',
        },
      );
      if (state.json) process.stdout.write(json(res));
      else
        process.stdout.write(
          `private key: ${res.privateKey}\npublic key:  ${res.publicKey}\nkey id:      ${res.keyId}\n`,
        );
    });

  program
    .command('sign')
    .description(
      'sign an image in its registry with a key: a cosign signature (simple signing) appended to its sha256-<digest>.sig attachment; only the manifest is read',
    )
    .argument('<reference>', 'host[:port]/name[:tag|@sha256:…] in a registry')
    .requiredOption('--key <file>', 'private key (PEM; moat key generate makes one)')
    .option('--password-stdin', "read the key's password from stdin (else $MOAT_PASSWORD)")
    .option('-a, --annotation <key=value...>', 'extra signed annotations (the payload\'s "optional" fields)')
    .option(
      '--bundle',
      'attach a sigstore bundle (v0.3, DSSE, no transparency-log entry) as an OCI referrer instead of a .sig signature',
    )
    .addOption(tlsOption())
    .addOption(trustOption())
    .addOption(formatOption())
    .action(
      async (
        reference: string,
        f: {
          key: string;
          passwordStdin?: boolean;
          annotation?: string[];
          bundle?: boolean;
          tlsVerify?: boolean;
          format: string;
        },
        cmd: Command,
      ) => {
        state.json = f.format === 'json';
        applyTrustOption(cmd);
        const annotations: Record<string, string> = {};
        for (const a of f.annotation ?? []) {
          const eq = a.indexOf('=');
          if (eq <= 0) throw new UsageError(`--annotation wants KEY=VALUE, got ${JSON.stringify(a)}`);
          annotations[a.slice(0, eq)] = a.slice(eq + 1);
        }
        const res = await request<{
          reference: string;
          digest: string;
          keyId: string;
          signatures: number;
          format: string;
          trust: { accepted: boolean; verified: boolean; error?: { message: string }; recorded: boolean };
        }>('POST', '/images/sign', {
          reference,
          key: path.resolve(f.key),
          password: await password(f.passwordStdin),
          ...(Object.keys(annotations).length ? { annotations } : {}),
          ...(f.bundle ? { bundle: true } : {}),
          tlsVerify: f.tlsVerify,
        }).finally(closeNet);
        if (state.json) {
          process.stdout.write(json(res));
          return;
        }
        process.stdout.write(
          res.format === 'bundle'
            ? `signed ${res.reference}@${res.digest} with key ${res.keyId.slice(0, 19)}… (a sigstore bundle attached as a referrer; ${res.signatures} referrer(s))\n`
            : `signed ${res.reference}@${res.digest} with key ${res.keyId.slice(0, 19)}… (${res.signatures} signature(s) attached)\n`,
        );
        process.stderr.write(
          res.trust.accepted
            ? `the trust policy in force accepts it${res.trust.verified ? ' (verified)' : ''}\n`
            : `note: the trust policy in force does not accept it: ${res.trust.error?.message ?? ''}\n`,
        );
      },
    );

  program
    .command('attest')
    .description(
      'attest an image in its registry with a key: an in-toto statement about its manifest digest (the predicate from a file) in a DSSE envelope, appended to its sha256-<digest>.att attachment as cosign attest does; only the manifest is read',
    )
    .argument('<reference>', 'host[:port]/name[:tag|@sha256:…] in a registry')
    .requiredOption('--key <file>', 'private key (PEM; moat key generate makes one)')
    .requiredOption('--predicate <file>', 'the predicate (JSON; for --type custom, any text)')
    .requiredOption(
      '--type <type>',
      'slsaprovenance (v0.2), slsaprovenance1, spdxjson, cyclonedx, vuln, openvex, custom, or a predicate type URI',
    )
    .option('--password-stdin', "read the key's password from stdin (else $MOAT_PASSWORD)")
    .addOption(tlsOption())
    .addOption(trustOption())
    .addOption(formatOption())
    .action(
      async (
        reference: string,
        f: {
          key: string;
          predicate: string;
          type: string;
          passwordStdin?: boolean;
          tlsVerify?: boolean;
          format: string;
        },
        cmd: Command,
      ) => {
        state.json = f.format === 'json';
        applyTrustOption(cmd);
        const res = await request<{
          reference: string;
          digest: string;
          keyId: string;
          predicateType: string;
          attestations: number;
          trust: {
            accepted: boolean;
            attestations: number;
            error?: { message: string };
            recorded: boolean;
          };
        }>('POST', '/images/attest', {
          reference,
          key: path.resolve(f.key),
          predicate: path.resolve(f.predicate),
          type: f.type,
          password: await password(f.passwordStdin),
          tlsVerify: f.tlsVerify,
        }).finally(closeNet);
        if (state.json) {
          process.stdout.write(json(res));
          return;
        }
        process.stdout.write(
          `attested ${res.reference}@${res.digest} (${res.predicateType}) with key ${res.keyId.slice(0, 19)}… (${res.attestations} attestation(s) attached)\n`,
        );
        process.stderr.write(
          res.trust.accepted
            ? `the trust policy in force accepts the image, with ${res.trust.attestations} verified attestation(s)\n`
            : `note: the trust policy in force does not accept the image: ${res.trust.error?.message ?? ''}\n`,
        );
      },
    );

  program
    .command('verify')
    .description(
      "verify an image's signatures against the trust policy: lists each signature and attestation, the requirement it met or why it failed, and the decision (exit 4 when rejected); reads only the manifest, signatures and attestations",
    )
    .argument('<reference>', 'host[:port]/name[:tag|@sha256:…] in a registry')
    .addOption(tlsOption())
    .addOption(trustOption())
    .addOption(formatOption())
    .action(async (reference: string, f: { tlsVerify?: boolean; format: string }, cmd: Command) => {
      state.json = f.format === 'json';
      applyTrustOption(cmd);
      const r = await request<VerifyResult>('POST', '/images/verify', {
        reference,
        tlsVerify: f.tlsVerify,
      }).finally(closeNet);
      if (!r.accepted) state.exitCode = 4;
      if (state.json) {
        process.stdout.write(json(r));
        return;
      }
      const lines = [
        `image:     ${r.reference}${r.digest ? `@${r.digest}` : ''}`,
        `policy:    ${r.policy.source}`,
        `scope:     ${scopeText(r.scope)}`,
      ];
      for (const q of r.requirements)
        lines.push(`requirement ${q.type}: ${q.ok ? 'met' : `NOT met (${q.code ?? ''}: ${q.reason ?? ''})`}`);
      for (const c of r.checked)
        lines.push(
          `  signature ${c.layer.slice(0, 19)}… (${c.kind}${c.keyId ? `, key ${c.keyId.slice(0, 19)}…` : ''}${c.identity ? `, for ${c.identity}` : ''}): ${c.ok ? 'verified' : `${c.code}: ${c.reason}`}`,
        );
      for (const a of r.checkedAttestations ?? [])
        lines.push(
          `  attestation ${a.id ? `${a.id.slice(0, 19)}… ` : ''}(${a.source === 'att' ? '.att' : 'referrer'}${a.predicate_type ? `, ${a.predicate_type}` : ''}): ${a.ok ? 'verified' : `${a.code}: ${a.reason}`}`,
        );
      lines.push(
        r.accepted
          ? `decision:  accepted${r.verified ? ` (${r.signatures.length} verified signature(s))` : ' (the policy asks for no signature)'}`
          : `decision:  REJECTED (${r.error?.code}: ${r.error?.message})`,
      );
      if (r.recorded) lines.push('recorded with the stored image: runs read this decision');
      process.stdout.write(lines.join('\n') + '\n');
    });
}

/** `moat trust show REF`: which trust policy file, which scope matched and why, and its requirements. */
export function registerTrustShow(trust: Command, state: CliState): void {
  trust
    .command('show')
    .description(
      'show which trust policy file applies to an image, which scope matched and why, and its requirements',
    )
    .argument('<reference>', 'host[:port]/name[:tag|@sha256:…]')
    .addOption(trustOption())
    .addOption(formatOption())
    .action(async (reference: string, f: { format: string }, cmd: Command) => {
      state.json = f.format === 'json';
      applyTrustOption(cmd);
      const r = await request<{
        reference: string;
        policy: string;
        transport: string;
        scope?: string;
        kind: string;
        requirements: Record<string, unknown>[];
      }>('POST', '/trust/show', { reference });
      if (state.json) {
        process.stdout.write(json(r));
        return;
      }
      const why =
        r.scope === undefined
          ? 'no scope of the docker transport matches: the policy default applies'
          : r.scope === ''
            ? 'no scope matches: the docker transport default ("") applies'
            : `${JSON.stringify(r.scope)} is the most specific scope that matches (${r.kind})`;
      const reqs = r.requirements.length
        ? r.requirements.map((q) => `  - ${JSON.stringify(q)}`).join('\n')
        : '  (none: an empty list rejects)';
      process.stdout.write(
        `image:  ${r.reference}\npolicy: ${r.policy}\nscope:  ${why}\nrequirements:\n${reqs}\n`,
      );
    });
}
