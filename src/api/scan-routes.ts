/**
 * Image scanning on the one request path: `image.scan` (POST /images/:ref/scan) scans a stored
 * image and records the report with it (src/scan/service.ts) — a registry reference the store
 * lacks is pulled first, as for run (withPullOnMissing, registry-routes.ts); run and create make
 * sure a report exists for their image under the scan setting in force before their facts are read
 * (withScanOnMissing), by asking this same router for an `image.scan` of the same subject, so the
 * policy decides the scan as it decides any request. Facts only read the records (scan-facts.ts).
 */
import { ImageError, isImageError } from '../image/errors.js';
import type { ImageRecord } from '../image/types.js';
import type { Engine } from '../runtime/engine.js';
import { hostPath } from './host-facts.js';
import { beforeRunFacts } from './before-run.js';
import { imageFacts } from './image-facts.js';
import { defineRoute, type AnyRoute, type ApiRequest } from './router.js';

/** `{db?, vex?}`: a database and VEX documents for this scan, else the configuration's. */
export const scanBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    db: { type: 'string', minLength: 1, maxLength: 4096 },
    vex: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 4096 } },
  },
} as const;

/**
 * IMAGE_NOT_FOUND for a reference that is neither stored nor pullable (a registry reference
 * would have been pulled before the facts), saying how to get one scanned.
 */
function notStored(e: unknown): unknown {
  if (!isImageError(e) || e.code !== 'IMAGE_NOT_FOUND') return e;
  return new ImageError('IMAGE_NOT_FOUND', `${e.message}, and it names no registry to pull it from`, {
    hint: 'give a registry reference (host/name:tag; a short name when registries.json sets defaultRegistry): it is pulled, verified and scanned as `moat run` would; `moat images` lists the stored images',
    ...(e.details ? { details: e.details } : {}),
    cause: e,
  });
}

async function resolveOrNone(engine: Engine, ref: string): Promise<ImageRecord | undefined> {
  try {
    return await engine.deps.images.resolve(ref);
  } catch {
    return undefined;
  }
}

export function scanRoutes(engine: Engine): AnyRoute[] {
  const store = () => engine.deps.images;
  return [
    defineRoute({
      method: 'POST',
      path: '/images/:ref/scan',
      action: 'image.scan',
      body: scanBody,
      facts: async (ctx) => {
        // A missing image is the handler's to report, after the decision.
        const rec = await resolveOrNone(engine, ctx.params.ref);
        return {
          ...(rec ? { image: imageFacts(rec, ctx.params.ref) } : {}),
          host_paths: [
            ...(ctx.body.db ? [hostPath(ctx.body.db, 'read')] : []),
            ...(ctx.body.vex ?? []).map((v) => hostPath(v, 'read')),
          ],
        };
      },
      handler: async (ctx) => {
        const rec = await store()
          .resolve(ctx.params.ref)
          .catch((e: unknown) => {
            throw notStored(e);
          });
        ctx.req.io?.progress?.(`scanning ${rec.id.slice(7, 19)}`);
        const { scanStored } = await import('../scan/service.js');
        return scanStored(store(), rec, {
          ...(ctx.body.db ? { db: ctx.body.db } : {}),
          ...(ctx.body.vex ? { vex: ctx.body.vex } : {}),
          reference: imageFacts(rec, ctx.params.ref).reference,
        });
      },
    }),
  ];
}

/**
 * Run and create scan their image first when it has no report under the scan setting in force
 * (database state, VEX documents, allow-list) by the current scanner: an `image.scan` request of
 * the same subject through the router, with no body (the configured database is the moat
 * instance's, not a path the subject names). A second run finds the record: a stat of the
 * database and one small read. Wrap inside withPullOnMissing: the image is pulled first.
 */
export function withScanOnMissing(
  routes: AnyRoute[],
  handle: (req: ApiRequest) => Promise<unknown>,
  engine: Engine,
): AnyRoute[] {
  return beforeRunFacts(routes, async (ctx) => {
    const rec = await resolveOrNone(engine, ctx.body.options.image);
    // No such image: the run's own facts say so.
    if (!rec) return;
    const { scanConfig, recordedScan, SCANNER_VERSION } = await import('./run-readers.js');
    const entry = recordedScan(engine.deps.images.root, rec, scanConfig());
    if (entry?.scanner !== SCANNER_VERSION) {
      await handle({
        subject: ctx.req.subject,
        method: 'POST',
        path: `/images/${encodeURIComponent(rec.id)}/scan`,
        body: {},
        io: ctx.req.io,
      });
    }
  });
}
