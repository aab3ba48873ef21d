/**
 * `moat check REF`: the CI gate. Pull (a registry reference) or load (an OCI layout directory, an
 * oci-archive or a docker-save tar) into a temporary store under $XDG_CACHE_HOME/moat (the user's
 * store is not touched; the temporary one is removed at the end), verify under the trust policy,
 * scan, then ask the admission policy what `moat run REF` would decide: the container.run input is
 * built by the run route's own fact resolver (plan: side-effect free; pull and scan-on-missing
 * included) and handed to the decision hook. Nothing is run.
 *
 * Exit statuses: 0 admitted; 4 the trust policy rejects the image (TRUST_*); 3 the admission
 * policy denies (POLICY_DENIED: findings over a threshold, or any other rule); 6 the policy's only
 * objection is that no vulnerability database was given while it sets a vulnerability threshold
 * (SCAN_NO_DATABASE); other errors as any command (1, 2, 125).
 */
import { Command, Option } from 'commander';
import type { CliState } from './index.js';
import { json } from './output.js';
import { applyTrustOption, trustOption } from './sign.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export const dbOption = () =>
  new Option(
    '--db <path>',
    'vulnerability database: an OSV export (directory, .zip or .tar[.gz] of OSV JSON records); default $MOAT_VULN_DB, else "db" in ~/.config/moat/scan.json',
  );
export const vexOption = () =>
  new Option('--vex <file>', 'OpenVEX document marking findings not affected (repeatable)').argParser(
    collect,
  );

export function registerCheckCommand(program: Command, state: CliState): void {
  program
    .command('check')
    .description(
      'the CI gate: pull (registry reference) or load (OCI layout directory, oci-archive, docker-save tar) into a temporary store, verify, scan, and ask the admission policy what `moat run IMAGE` would decide; nothing is run. Exit 0 admitted, 4 trust rejected, 3 policy denied, 6 a vulnerability threshold is set but no database was given',
    )
    .argument('<image>', 'a registry reference, an OCI layout directory, or an image archive (tar)')
    .addOption(trustOption())
    .addOption(dbOption())
    .addOption(vexOption())
    .option('--policy <dir>', 'admission policy directory (.rego and data .json); default: the one in force')
    .addOption(
      new Option('--tls-verify <bool>', 'false: allow a plain-HTTP or unverified-TLS registry').choices([
        'true',
        'false',
      ]),
    )
    .addOption(
      new Option(
        '--format <format>',
        'text, json (the verdict with every reason) or sarif (the findings, with the verdict)',
      )
        .choices(['text', 'json', 'sarif'])
        .default('text'),
    )
    .action(
      async (
        image: string,
        f: { db?: string; vex?: string[]; policy?: string; tlsVerify?: string; format: string },
        cmd: Command,
      ) => {
        state.json = f.format !== 'text';
        applyTrustOption(cmd);
        const { runCheck, text } = await import('./check-run.js');
        const { result, report } = await runCheck(image, {
          db: f.db,
          vex: f.vex,
          policy: f.policy,
          ...(f.tlsVerify !== undefined ? { tlsVerify: f.tlsVerify === 'true' } : {}),
        });
        if (f.format === 'json')
          process.stdout.write(json({ ...result, ...(report ? { findings: report.findings } : {}) }));
        else if (f.format === 'sarif') {
          const { toSarif } = await import('../scan/report/sarif.js');
          const sarif = report
            ? toSarif(report)
            : { version: '2.1.0', $schema: 'https://json.schemastore.org/sarif-2.1.0.json', runs: [] };
          const runs = (sarif as { runs?: Record<string, unknown>[] }).runs ?? [];
          if (runs[0])
            runs[0].invocations = [
              {
                executionSuccessful: true,
                exitCode: result.exit,
                properties: { admitted: result.admitted, code: result.code, reasons: result.reasons },
              },
            ];
          process.stdout.write(json(sarif));
        } else process.stdout.write(text(result));
        state.exitCode = result.exit;
      },
    );
}
