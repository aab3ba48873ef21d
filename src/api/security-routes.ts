/**
 * `GET /containers/:id/security` (`moat inspect --security`): what protects a container, from its
 * spec and record and, while it runs, checked against its init process (runtime/security-report.ts).
 * A read like inspect: the policy sees the container (`facts.container`, `facts.spec`).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Engine } from '../runtime/engine.js';
import type { OciSpec } from '../runtime/oci.js';
import { containerDirs } from '../runtime/state.js';
import { containerFacts, decidedContainer } from './container-facts.js';
import { defineRoute, type AnyRoute } from './router.js';
import * as S from './schemas.js';

export function securityRoutes(engine: Engine): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/containers/:id/security',
      action: 'container.security',
      body: S.empty,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => {
        const { readLive, securityReport } = await import('../runtime/security-report.js');
        const rec = await engine.containers.resolve(decidedContainer(ctx));
        const specFile = path.join(containerDirs(engine.deps.paths, rec.id).bundle, 'config.json');
        const spec = JSON.parse(await fsp.readFile(specFile, 'utf8')) as OciSpec;
        return securityReport(
          rec,
          spec,
          engine.tools().maps,
          rec.status === 'running' ? readLive(rec.pid) : undefined,
        );
      },
    }),
  ];
}
