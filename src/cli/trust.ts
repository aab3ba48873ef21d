/**
 * `moat trust ...`: the trust room's commands. `registerTrustCommands` makes the `trust` group and
 * adds each subcommand from its own small function below, so another one (`trust show`) is one
 * more function and one more line in it.
 *
 * `trust verify-blob` verifies locally (files in, a verdict out: nothing on the host changes), so
 * it runs in-process rather than as a request to the router.
 */
import { Command, Option } from 'commander';
import type { BundleOutcome } from '../trust/bundle/index.js';
import type { CliState } from './index.js';
import { json } from './output.js';

const fmt = () =>
  new Option('--format <format>', 'output format').choices(['json', 'pretty']).default('pretty');

interface VerifyBlobFlags {
  bundle: string;
  certificateIdentity?: string;
  certificateOidcIssuer?: string;
  key?: string;
  trustedRoot?: string;
  format: 'json' | 'pretty';
}

/** What verify-blob prints: the same fields as a signature in `moat verify`'s facts. */
export function blobReport(o: BundleOutcome): Record<string, unknown> {
  return {
    verified: true,
    bundle: o.bundle,
    ...(o.mediaType ? { media_type: o.mediaType } : {}),
    ...(o.subject !== undefined ? { subject: o.subject } : {}),
    ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
    ...(o.keyId ? { key_id: o.keyId } : {}),
    ...(o.tlog ? { tlog: o.tlog } : {}),
    ...(o.predicateType ? { predicate_type: o.predicateType } : {}),
  };
}

export function registerVerifyBlob(trust: Command, state: CliState): void {
  trust
    .command('verify-blob')
    .description(
      'verify a sigstore bundle for a file or a sha256: digest (cosign verify-blob flags); offline: the public-good trusted root ships with moat',
    )
    .argument('<file-or-digest>', 'the signed file, or its digest as sha256:<hex>')
    .requiredOption('--bundle <file>', 'the sigstore bundle (v0.1, v0.2, v0.3)')
    .option('--certificate-identity <id>', "the signer's identity, exactly as in the certificate's SAN")
    .option('--certificate-oidc-issuer <url>', "the signer's OIDC issuer, exactly")
    .option('--key <file>', 'a PEM public key (instead of a certificate identity)')
    .option('--trusted-root <file>', 'a sigstore trusted_root.json (default: the public-good root, offline)')
    .addOption(fmt())
    .action(async (artifact: string, f: VerifyBlobFlags) => {
      state.json = f.format === 'json';
      // loaded here: @sigstore/verify costs ~0.3 s, which no other command should pay
      const { verifyBlob } = await import('../trust/verify-blob.js');
      const outcome = await verifyBlob({
        bundle: f.bundle,
        artifact,
        ...(f.certificateIdentity !== undefined ? { certificateIdentity: f.certificateIdentity } : {}),
        ...(f.certificateOidcIssuer !== undefined ? { certificateOidcIssuer: f.certificateOidcIssuer } : {}),
        ...(f.key !== undefined ? { key: f.key } : {}),
        ...(f.trustedRoot !== undefined ? { trustedRoot: f.trustedRoot } : {}),
      });
      const report = blobReport(outcome);
      if (state.json) process.stdout.write(json(report));
      else {
        const who = outcome.keyId ?? `${outcome.subject ?? '?'} (${outcome.issuer ?? '?'})`;
        const log = outcome.tlog ? `, logged at index ${outcome.tlog.log_index}` : '';
        process.stdout.write(`Verified OK: ${artifact} signed by ${who}${log}\n`);
      }
      state.exitCode = 0;
    });
}

export function registerTrustCommands(program: Command, state: CliState): Command {
  const trust = program
    .command('trust')
    .description('image and blob signatures: verify, and the trust policy');
  registerVerifyBlob(trust, state);
  return trust;
}
