/**
 * SARIF 2.1.0, as GitHub code scanning accepts it: one run of the tool `moat`, a rule per rule id
 * (with its help text and `security-severity`), a result per finding at a location made of the
 * path in the image (the artifact) and the image reference + layer digest (a logical location).
 */
import type { Finding, Severity } from '../types.js';
import type { ScanReport } from './types.js';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
  unknown: 'warning',
};
/** GitHub ranks results by this number (0.1–10): the CVSS score when known, else the band's middle. */
const SCORE: Record<Severity, number> = {
  critical: 9.5,
  high: 8,
  medium: 5.5,
  low: 2,
  info: 0.1,
  unknown: 5,
};

const KIND_HELP: Record<Finding['kind'], string> = {
  hazard: 'A layer entry that could escape or confuse the image root. Rebuild the image without it.',
  permission: 'A file mode or owner that widens what a process in the container can do.',
  secret:
    'A credential stored in the image: anyone who can pull the image can read it. Revoke it, then rebuild without it.',
  vulnerability: 'A package version with a known vulnerability. Upgrade to the fixed version.',
  config: "A setting of the image's configuration that weakens its isolation.",
};

function message(f: Finding): string {
  const where = f.path ? ` in ${f.path}${f.line ? `:${f.line}` : ''}` : '';
  const pkg = f.package
    ? ` (${f.package.name} ${f.package.version}${f.fixed ? `, fixed in ${f.fixed}` : ''})`
    : '';
  return `${f.title}${pkg}${where}${f.detail ? `: ${f.detail}` : ''}`;
}

/**
 * A path in the image as the artifact's URI: a relative reference (RFC 3986), each segment
 * percent-encoded (a space, `#`, `?`, `%` or a non-ASCII letter is not a URI character; a lone
 * surrogate, which cannot be encoded, becomes U+FFFD first).
 */
export function artifactUri(path: string): string {
  return path
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .split('/')
    .map(encodeURIComponent)
    .join('/');
}

export function toSarif(r: ScanReport): Record<string, unknown> {
  const rules = new Map<string, { f: Finding; index: number }>();
  for (const f of r.findings) if (!rules.has(f.rule)) rules.set(f.rule, { f, index: rules.size });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'moat',
            version: r.scanner.version,
            informationUri: 'https://github.com/moat/moat',
            rules: [...rules.values()].map(({ f }) => ({
              id: f.rule,
              name: f.rule.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) =>
                c ? c.toUpperCase() : '',
              ),
              shortDescription: { text: f.kind === 'vulnerability' ? `${f.rule}` : f.title },
              fullDescription: { text: f.title },
              help: {
                text: `${KIND_HELP[f.kind]}${f.aliases?.length ? ` Aliases: ${f.aliases.join(', ')}.` : ''}`,
                markdown: `**${f.kind}**: ${KIND_HELP[f.kind]}`,
              },
              defaultConfiguration: { level: LEVEL[f.severity] },
              properties: {
                tags: ['security', f.kind],
                'security-severity': (f.cvss?.score ?? SCORE[f.severity]).toFixed(1),
              },
            })),
          },
        },
        results: r.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: rules.get(f.rule)!.index,
          level: LEVEL[f.severity],
          message: { text: message(f) },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.path !== undefined ? artifactUri(f.path) : 'image-config' },
                ...(f.line ? { region: { startLine: f.line } } : {}),
              },
              logicalLocations: [
                {
                  fullyQualifiedName: `${r.image.reference}${f.layer ? `@${f.layer}` : ''}${f.path ? `/${f.path}` : ''}`,
                  kind: 'module',
                },
              ],
            },
          ],
          partialFingerprints: {
            'moat/v1': `${f.rule}|${f.layer ?? ''}|${f.path ?? ''}|${f.line ?? ''}|${f.package ? `${f.package.name}@${f.package.version}` : ''}`,
          },
          properties: {
            image: r.image.reference,
            digest: r.image.digest,
            ...(f.layer ? { layer: f.layer } : {}),
          },
        })),
        properties: { notes: r.notes, db: r.db },
      },
    ],
  };
}
