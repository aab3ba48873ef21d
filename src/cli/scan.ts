/**
 * Scanning commands: `moat scan REF` (the report: a table, JSON or SARIF; it reports, it does not
 * judge: exit 0 whatever it finds), `moat sbom REF` (CycloneDX 1.5 or SPDX 2.3 JSON) and
 * `moat check REF` (check.ts: the CI gate). scan and sbom are one `image.scan` request each to
 * the router (the report is recorded with the image, so a run after them reads it); a registry
 * reference the store lacks is pulled first by that request, as `moat run` pulls (under the
 * trust policy, `--trust FILE` as for run; progress on stderr).
 */
import { Command, Option } from 'commander';
import * as path from 'node:path';
import type { ScanReport } from '../scan/report/types.js';
import { request } from './app.js';
import { dbOption, registerCheckCommand, vexOption } from './check.js';
import { trustOption } from './sign.js';
import type { CliState } from './index.js';
import { json } from './output.js';

const progress = (msg: string) => process.stderr.write(`${msg}\n`);

/** One `image.scan` request: the image's report under this database and these VEX documents. */
export async function scanRequest(
  reference: string,
  f: { db?: string; vex?: string[] },
): Promise<ScanReport> {
  return request<ScanReport>(
    'POST',
    `/images/${encodeURIComponent(reference)}/scan`,
    {
      ...(f.db ? { db: path.resolve(f.db) } : {}),
      ...(f.vex?.length ? { vex: f.vex.map((v) => path.resolve(v)) } : {}),
    },
    // as for run: a pull's progress, and the scan's, on stderr
    { stdout: process.stdout, stderr: process.stderr, progress },
  );
}

const IMAGE_ARG =
  'a stored image (name, ID or ID prefix), or a registry reference: pulled when not stored, as moat run does';

export function registerScanCommands(program: Command, state: CliState): void {
  program
    .command('scan')
    .description(
      'scan an image (pulled first when not stored, as moat run does): layer hazards, permissions, secrets, configuration, packages, and vulnerabilities against an OSV database; the report is recorded with the image (runs read it). Exit 0 whatever is found: moat check judges',
    )
    .argument('<image>', IMAGE_ARG)
    .addOption(trustOption())
    .addOption(dbOption())
    .addOption(vexOption())
    .addOption(
      new Option('--format <format>', 'table, json (the ScanReport) or sarif (SARIF 2.1.0)')
        .choices(['table', 'json', 'sarif'])
        .default('table'),
    )
    .action(async (image: string, f: { db?: string; vex?: string[]; format: string }) => {
      state.json = f.format !== 'table';
      const report = await scanRequest(image, f);
      if (f.format === 'json') process.stdout.write(json(report));
      else if (f.format === 'sarif') {
        const { toSarif } = await import('../scan/report/sarif.js');
        process.stdout.write(json(toSarif(report)));
      } else {
        const { toTable } = await import('../scan/report/table.js');
        process.stdout.write(toTable(report));
      }
    });

  program
    .command('sbom')
    .description(
      "an image's software bill of materials (its package inventory) as JSON on stdout; pulled first when not stored, as moat run does",
    )
    .argument('<image>', IMAGE_ARG)
    .addOption(trustOption())
    .addOption(
      new Option('--format <format>', 'CycloneDX 1.5 or SPDX 2.3 JSON')
        .choices(['cyclonedx', 'spdx'])
        .makeOptionMandatory(),
    )
    .action(async (image: string, f: { format: string }) => {
      state.json = true;
      const report = await scanRequest(image, {});
      if (f.format === 'spdx') {
        const { toSpdx } = await import('../scan/report/spdx.js');
        process.stdout.write(json(toSpdx(report)));
      } else {
        const { toCycloneDx } = await import('../scan/report/cyclonedx.js');
        process.stdout.write(json(toCycloneDx(report)));
      }
    });

  registerCheckCommand(program, state);
}
