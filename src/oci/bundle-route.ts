/**
 * `POST /oci/create-bundle` (`/v1/oci/create-bundle` on the service): moat-runtime's fast path
 * (native/moat-oci-front.c). The front door starts no Node process for a create when oci.json
 * names a service: it sends the container's ID, its bundle's path and the hardening settings, and
 * the service does what moat-runtime's Node program does before runc (create.ts prepareCreate):
 * reads `<bundle>/config.json` as hostile input (readBundleSpec: no symlink, regular file, 4 MiB,
 * exactly-spelled keys), decides the same action `oci.create` on the same facts (routes.ts
 * ociCreateFacts: the policy and its tests apply unchanged), and after an allow writes
 * `<bundle>/.moat-runtime/config.json` (writeBundle: temporary file and rename, paths relocated).
 * The answer is that directory and the decision lines the front appends to the caller's `--log`
 * (in its `--log-format`) and to `$MOAT_OCI_LOG` (JSON), as decisionLog does in the Node program.
 *
 * The bundle is a file path the client names, read and written by the service: only a subject on
 * this host may name one (the unix socket, 0600, its owner). A remote subject (TLS) is refused
 * before anything is read; it may send the spec itself in `POST /v1/oci/create`.
 */
import { defineRoute, type AnyRoute } from '../api/router.js';
import { validateId } from './argv.js';
import { writeBundle } from './create.js';
import { OciError } from './errors.js';
import { formatLine } from './log.js';
import { ociCreateBody, ociCreateFacts, type OciCreateResult } from './routes.js';
import { readBundleSpec } from './spec.js';

export const ociBundleBody = {
  type: 'object',
  required: ['id', 'bundle'],
  additionalProperties: false,
  properties: {
    id: ociCreateBody.properties.id,
    /** The bundle's absolute path, as the client sees it (the service reads its real path). */
    bundle: { type: 'string', minLength: 1, maxLength: 4096, pattern: '^/' },
    mode: ociCreateBody.properties.mode,
    capabilities: ociCreateBody.properties.capabilities,
    pidsLimit: ociCreateBody.properties.pidsLimit,
    /** The caller's `--log-format`: the format of `log` in the answer. */
    logFormat: { enum: ['text', 'json'], default: 'text' },
  },
} as const;

/** What the front needs: runc's bundle directory, and the lines to append to the logs. */
export interface OciBundleAnswer {
  dir: string;
  applied: boolean;
  mode: string;
  changes: OciCreateResult['changes'];
  /** Decision lines in the caller's --log-format, for its --log (or stderr with --debug). */
  log: string;
  /** The same lines as JSON, for $MOAT_OCI_LOG. */
  decisions: string;
}

interface Prepared {
  bundle: string;
  result: OciCreateResult;
}

export function ociBundleRoutes(): AnyRoute[] {
  const prepared = new WeakMap<object, Prepared>();
  return [
    defineRoute({
      method: 'POST',
      path: '/oci/create-bundle',
      action: 'oci.create',
      body: ociBundleBody,
      facts: async ({ req, body }) => {
        const s = req.subject;
        if ((s.local ?? s.via === 'cli') !== true)
          throw new OciError(
            'OCI_UNSUPPORTED',
            'oci/create-bundle reads a bundle on the service’s host: only a local subject (the unix socket) may name one; send the spec in /v1/oci/create',
            {
              hint: 'POST /v1/oci/create with the spec in the body; the bundle route is for moat-runtime on the service’s host',
            },
          );
        validateId(body.id);
        const { bundle, spec } = readBundleSpec(body.bundle);
        const { facts, result } = ociCreateFacts({
          id: body.id,
          bundle,
          spec,
          mode: body.mode,
          capabilities: body.capabilities,
          pidsLimit: body.pidsLimit,
        });
        prepared.set(body, { bundle, result });
        return facts;
      },
      handler: async ({ body }): Promise<OciBundleAnswer> => {
        const p = prepared.get(body);
        if (!p) throw new Error('oci.create: no bundle was read for this request');
        const { result: r, bundle } = p;
        const dir = await writeBundle(bundle, r.spec);
        const now = new Date();
        const lines: [string, Record<string, unknown>][] = [
          ['moat: oci.create allowed', { id: body.id, front: 'native' }],
          ...r.changes.map((c): [string, Record<string, unknown>] => [
            `moat: ${r.applied ? 'hardened' : `${r.mode}: would harden`} ${c.field}: ${c.change}`,
            { id: body.id },
          ]),
        ];
        const text = (format: 'json' | 'text') =>
          lines.map(([msg, extra]) => formatLine('info', msg, format, extra, now)).join('');
        return {
          dir,
          applied: r.applied,
          mode: r.mode,
          changes: r.changes,
          log: text(body.logFormat),
          decisions: text('json'),
        };
      },
    }),
  ];
}
