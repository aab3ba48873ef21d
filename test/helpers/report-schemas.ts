/**
 * moat's SARIF and SPDX output against the published JSON schemas, with ajv (formats checked by
 * ajv-formats). No schema file is committed here: each comes from an npm package.
 *   - SARIF 2.1.0: sarif-2.1.0-rtm.5.json (draft-04, the 2.1.0 schema as SchemaStore publishes it),
 *     shipped by @microsoft/jest-sarif (the SARIF SDK's JavaScript matchers). OASIS's final text
 *     (errata01, sarif-schema-2.1.0.json) differs in two ways that matter to a validator, both
 *     applied here so that the schema checked is errata01's: a region must have a startLine, a
 *     charOffset or a byteOffset, and the `language` pattern is a valid regular expression
 *     (rtm.5's `^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$` does not compile with the u flag).
 *   - SPDX 2.3 (spdx-spec's schemas/spdx-schema.json, draft-07): no npm package carries it (see
 *     spdxValidator); MOAT_SPDX_SCHEMA names a copy to validate against.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Ajv as AjvCore, ErrorObject, ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);
type AjvClass = new (opts: Record<string, unknown>) => AjvCore;
const cls = (m: unknown): AjvClass => ((m as { default?: AjvClass }).default ?? m) as AjvClass;
/** ajv-formats' formats (date-time, uri, uri-reference: what the SARIF and SPDX schemas use) on `ajv`. */
export const addFormats = (ajv: AjvCore): void => {
  const m = require('ajv-formats') as unknown;
  ((m as { default?: (a: AjvCore) => void }).default ?? (m as (a: AjvCore) => void))(ajv);
};

/** The SARIF 2.1.0 schema's path in @microsoft/jest-sarif. */
export const SARIF_SCHEMA = path.join(
  path.dirname(require.resolve('@microsoft/jest-sarif/package.json')),
  'lib/schemas/sarif-2.1.0-rtm.5.json',
);

let sarif: ValidateFunction | undefined;

/** A validator for SARIF 2.1.0 logs (compiled once). */
export function sarifValidator(): ValidateFunction {
  if (sarif) return sarif;
  const text = readFileSync(SARIF_SCHEMA, 'utf8').replaceAll(
    '"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$"',
    JSON.stringify('^[a-zA-Z]{2}(-[a-zA-Z]{2})?$'),
  );
  const schema = JSON.parse(text) as {
    $schema: string;
    definitions: { region: Record<string, unknown> };
  };
  if (schema.$schema !== 'http://json-schema.org/draft-04/schema#')
    throw new Error(`${SARIF_SCHEMA}: not the draft-04 schema this helper knows (${schema.$schema})`);
  schema.definitions.region.anyOf = [
    { required: ['startLine'] },
    { required: ['charOffset'] },
    { required: ['byteOffset'] },
  ];
  const ajv = new (cls(require('ajv-draft-04')))({ allErrors: true, strict: false });
  addFormats(ajv);
  return (sarif = ajv.compile(schema));
}

let spdx: ValidateFunction | null | undefined;

/**
 * A validator for SPDX 2.3 documents, or undefined: the published schema is not on npm (looked
 * for in @cyclonedx/cyclonedx-library, which has the SPDX licence-id list only; @cyclonedx/cdxgen,
 * SPDX 3.0.1's schema and the licence list; @datadog/datadog-ci-plugin-sbom, bundled CycloneDX
 * only; @mongodb-js/sbom-tools; and the registry's package list for spdx/sbom names), nor in
 * Debian. MOAT_SPDX_SCHEMA names a copy of spdx-spec's v2.3 schemas/spdx-schema.json (draft-07).
 */
export function spdxValidator(): ValidateFunction | undefined {
  if (spdx !== undefined) return spdx ?? undefined;
  const file = process.env.MOAT_SPDX_SCHEMA;
  if (!file) {
    spdx = null;
    return undefined;
  }
  const { Ajv } = require('ajv') as typeof import('ajv');
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return (spdx = ajv.compile(JSON.parse(readFileSync(file, 'utf8')) as object));
}

/** The validator's errors on `doc`, one line each (none when it is valid). */
export function violations(v: ValidateFunction, doc: unknown): string[] {
  if (v(doc)) return [];
  return (v.errors ?? []).map(
    (e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`,
  );
}
