/**
 * The facts of a run or create are the plan alone (issue 10, "facts are reads"): the engine is
 * told whether it may read the files the request names (the local owner: yes; a remote subject:
 * no), nothing is committed before the decision, and a denied request never reaches `commit`.
 */
import { describe, expect, it } from 'vitest';
import { decisionInput } from '../../../src/api/policy-hook.js';
import { containerRoutes } from '../../../src/api/routes.js';
import { Router } from '../../../src/api/router.js';
import type { Engine, PlanOptions } from '../../../src/runtime/engine.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';

function engine(calls: string[], seen: PlanOptions[]): Engine {
  return {
    deps: { paths: { runtime: '/run/user/1/moat', data: '/d', containers: '/d/c' }, host: {}, images: {} },
    plan: async (opts: ReturnType<typeof defaultRunOptions>, po: PlanOptions) => {
      seen.push(po);
      return {
        id: 'x',
        name: 'n',
        opts,
        image: { id: 'sha256:1', names: [] },
        spec: { process: { user: { uid: 0, gid: 0 } } },
        limits: {},
        warnings: [],
        sources: opts.volumes.map((v) => `/canonical${v.host}`),
        ...(opts.seccompProfile
          ? { seccompFile: { path: opts.seccompProfile, read: po.readRequestFiles } }
          : {}),
      };
    },
    commit: async () => {
      calls.push('commit');
      throw new Error('committed');
    },
  } as unknown as Engine;
}

const options = {
  ...defaultRunOptions('img'),
  volumes: [{ host: '/no/such/dir', container: '/x', readonly: false }],
  seccompProfile: '/home/owner/.ssh/id_rsa',
};

describe('run and create facts', () => {
  for (const [who, subject, reads] of [
    ['the local owner', { uid: 1, user: 'u', via: 'cli' as const }, true],
    ['a remote subject', { uid: 1, user: 'alice', via: 'api' as const, local: false }, false],
  ] as const) {
    it(`${who}: the plan may read request files: ${reads}; a deny commits nothing`, async () => {
      const calls: string[] = [];
      const seen: PlanOptions[] = [];
      let facts: Record<string, unknown> = {};
      let run: Record<string, unknown> = {};
      const router = new Router(containerRoutes(engine(calls, seen)), async (input) => {
        facts = input.facts;
        run = (decisionInput(input).facts as { run: Record<string, unknown> }).run;
        return { allow: false, reasons: ['no'], policy: 't' };
      });
      for (const path of ['/containers/create', '/containers/run']) {
        const err = await router
          .handle({ subject, method: 'POST', path, body: { options } })
          .catch((e: { code?: string }) => e);
        expect((err as { code?: string }).code).toBe('POLICY_DENIED');
      }
      expect(seen).toEqual([{ readRequestFiles: reads }, { readRequestFiles: reads }]);
      expect(calls).toEqual([]);
      // The host paths as the plan resolved them (one resolution), beside what the client sent.
      expect(facts.host_paths).toEqual([
        { path: '/canonical/no/such/dir', raw: '/no/such/dir', use: 'mount', readonly: false },
        { path: '/home/owner/.ssh/id_rsa', raw: '/home/owner/.ssh/id_rsa', use: 'read' },
      ]);
      expect(facts).not.toHaveProperty('plan_failed');
      expect(run.mounts).toEqual([
        {
          type: 'bind',
          source: '/canonical/no/such/dir',
          raw_source: '/no/such/dir',
          destination: '/x',
          readonly: false,
        },
      ]);
      // Not read for a remote subject: the policy is told so (the default policy takes it as looser).
      if (!reads)
        expect(run.seccomp).toEqual({
          profile: 'custom',
          file: options.seccompProfile,
          raw_file: options.seccompProfile,
          read: false,
        });
    });
  }
});
