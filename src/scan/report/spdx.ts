/**
 * SPDX 2.3 JSON: a document describing the image (a package of purpose CONTAINER) that CONTAINS
 * each package found, each identified by its purl (an external reference of category
 * PACKAGE-MANAGER). moat asserts nothing it does not know: licences, download locations and
 * copyright are NOASSERTION unless the package database declared a licence.
 */
import { randomUUID } from 'node:crypto';
import type { ScanReport } from './types.js';

export function toSpdx(r: ScanReport, uuid: string = randomUUID()): Record<string, unknown> {
  const id = (i: number) => `SPDXRef-Package-${i}`;
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: r.image.reference,
    documentNamespace: `https://moat.invalid/spdx/${r.image.digest.replace(/^sha256:/, '')}/${uuid}`,
    creationInfo: { created: r.at.replace(/\.\d{3}Z$/, 'Z'), creators: [`Tool: moat-${r.scanner.version}`] },
    packages: [
      {
        SPDXID: 'SPDXRef-Image',
        name: r.image.reference,
        versionInfo: r.image.digest,
        primaryPackagePurpose: 'CONTAINER',
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        checksums: [{ algorithm: 'SHA256', checksumValue: r.image.digest.replace(/^sha256:/, '') }],
      },
      ...r.packages.map((p, i) => ({
        SPDXID: id(i),
        name: p.name,
        versionInfo: p.version,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        ...(p.source
          ? { sourceInfo: `built from ${p.source.name}${p.source.version ? ` ${p.source.version}` : ''}` }
          : {}),
        comment: `found at ${p.path} (layer ${p.layer})`,
        externalRefs: [
          { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl },
        ],
      })),
    ],
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: 'SPDXRef-Image',
      },
      ...r.packages.map((_p, i) => ({
        spdxElementId: 'SPDXRef-Image',
        relationshipType: 'CONTAINS',
        relatedSpdxElement: id(i),
      })),
    ],
  };
}
