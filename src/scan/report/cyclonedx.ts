/**
 * CycloneDX 1.5 JSON: the image as the BOM's subject (a container component), each package a
 * library component identified by its purl, with the layer and path it was found at as
 * properties, and the vulnerabilities found (with their affected components).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Package } from '../types.js';
import type { ScanReport } from './types.js';

const ref = (p: Package, i: number) =>
  `pkg-${i}-${createHash('sha256').update(p.purl).digest('hex').slice(0, 12)}`;

export function toCycloneDx(r: ScanReport, serial: string = randomUUID()): Record<string, unknown> {
  const refs = new Map<string, string>();
  r.packages.forEach((p, i) => refs.set(p.purl, ref(p, i)));
  const rating = (sev: string) =>
    ['critical', 'high', 'medium', 'low', 'info', 'unknown'].includes(sev) ? sev : 'unknown';
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${serial}`,
    version: 1,
    metadata: {
      timestamp: r.at,
      tools: { components: [{ type: 'application', name: 'moat', version: r.scanner.version }] },
      component: {
        type: 'container',
        'bom-ref': 'image',
        name: r.image.reference,
        version: r.image.digest,
        hashes: [{ alg: 'SHA-256', content: r.image.digest.replace(/^sha256:/, '') }],
      },
    },
    components: r.packages.map((p, i) => ({
      type: 'library',
      'bom-ref': ref(p, i),
      name: p.name,
      version: p.version,
      purl: p.purl,
      ...(p.licenses?.length ? { licenses: p.licenses.map((name) => ({ license: { name } })) } : {}),
      properties: [
        { name: 'moat:ecosystem', value: p.ecosystem },
        { name: 'moat:layer', value: p.layer },
        { name: 'moat:path', value: p.path },
        ...(p.source
          ? [
              {
                name: 'moat:source',
                value: `${p.source.name}${p.source.version ? `@${p.source.version}` : ''}`,
              },
            ]
          : []),
      ],
    })),
    dependencies: [{ ref: 'image', dependsOn: r.packages.map((p, i) => ref(p, i)) }],
    vulnerabilities: r.findings
      .filter((f) => f.kind === 'vulnerability' && f.package)
      .map((f) => {
        const pkg = r.packages.find(
          (p) =>
            p.name === f.package!.name &&
            p.version === f.package!.version &&
            p.ecosystem === f.package!.ecosystem,
        );
        return {
          id: f.rule,
          ...(f.aliases?.length
            ? { references: f.aliases.map((a) => ({ id: a, source: { name: 'alias' } })) }
            : {}),
          ratings: [
            {
              severity: rating(f.severity),
              ...(f.cvss
                ? {
                    score: f.cvss.score,
                    method: f.cvss.vector.startsWith('CVSS:3.1')
                      ? 'CVSSv31'
                      : f.cvss.vector.startsWith('CVSS:3.0')
                        ? 'CVSSv3'
                        : f.cvss.vector.startsWith('CVSS:4')
                          ? 'CVSSv4'
                          : 'other',
                    vector: f.cvss.vector,
                  }
                : {}),
            },
          ],
          description: f.title,
          ...(f.fixed ? { recommendation: `upgrade ${f.package!.name} to ${f.fixed}` } : {}),
          affects: [{ ref: pkg ? refs.get(pkg.purl)! : 'image' }],
        };
      }),
  };
}
