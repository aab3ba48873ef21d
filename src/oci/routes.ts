/**
 * The OCI runtime's request on moat's router: `oci.create` (POST /oci/create), asked by
 * moat-runtime before it hands a caller's bundle to runc (`create` and `run`). The body carries
 * the caller's spec and the hardening settings in force; the facts are the spec, the pod, the
 * caller and the summary (facts.ts), with the hardening worked out before the decision so the
 * policy sees the changes; the handler only returns that result. Nothing is written here: the
 * bundle runc reads is written by create.ts after an allow.
 */
import { release } from 'node:os';
import { defineRoute, type AnyRoute } from '../api/router.js';
import { OCI_DEFAULTS, type HardeningMode } from './config.js';
import { callerFacts, ociSummary, podFacts } from './facts.js';
import { harden, type Hardened } from './harden.js';
import { hostLandlock } from './landlock.js';
import { checkSpec, type CallerSpec } from './spec.js';
import { ociUpdateRoute } from './update.js';

export const ociCreateBody = {
  type: 'object',
  required: ['id', 'bundle', 'spec'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 1024 },
    /** The bundle's real path. */
    bundle: { type: 'string', minLength: 1, maxLength: 4096 },
    /** The caller's config.json, parsed. */
    spec: { type: 'object' },
    mode: { enum: ['enforce', 'audit', 'off'], default: 'enforce' },
    /** The capability allow-list (CAP_ names). */
    capabilities: {
      type: 'array',
      items: { type: 'string', maxLength: 64 },
      maxItems: 64,
      default: OCI_DEFAULTS.capabilities,
    },
    /** pids.max where the spec sets none (0: none). */
    pidsLimit: { type: 'integer', minimum: 0, default: OCI_DEFAULTS.pidsLimit },
    /** Added to the allow-list for pods in a Kubernetes namespace (facts.pod.namespace). */
    namespaceCapabilities: {
      type: 'object',
      maxProperties: 1024,
      additionalProperties: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 64 },
      default: {},
    },
  },
} as const;

export interface OciCreateResult extends Hardened {
  mode: string;
}

/** The facts of an `oci.create` and the hardening worked out for them (also the bundle route's). */
export function ociCreateFacts(req: {
  id: string;
  bundle: string;
  spec: CallerSpec;
  mode: HardeningMode;
  capabilities: string[];
  pidsLimit: number;
  /** Added to the allow-list for pods in a Kubernetes namespace (facts.pod.namespace). */
  namespaceCapabilities?: Record<string, string[]>;
}): { facts: Record<string, unknown>; result: OciCreateResult } {
  const { id, bundle, spec, mode } = req;
  const pod = podFacts(spec.annotations ?? {});
  const perNs = req.namespaceCapabilities ?? {};
  const h = harden(spec, {
    mode,
    capabilities: [
      ...req.capabilities,
      ...(pod.namespace !== null && Object.hasOwn(perNs, pod.namespace) ? perNs[pod.namespace] : []),
    ],
    pidsLimit: req.pidsLimit,
    arch: process.arch,
    kernelVersion: release(),
    landlock: { host: hostLandlock(), bundle },
  });
  return {
    facts: {
      spec,
      pod,
      caller: callerFacts(id, bundle, spec),
      oci: {
        ...ociSummary(spec, bundle, { mode, changes: h.changes, applied: h.applied }, h.seccomp),
        landlock: h.landlock ?? null,
      },
    },
    result: { ...h, mode },
  };
}

export function ociRoutes(): AnyRoute[] {
  // The hardening worked out for the facts, kept for the handler of the same request.
  const results = new WeakMap<object, OciCreateResult>();
  return [
    defineRoute({
      method: 'POST',
      path: '/oci/create',
      action: 'oci.create',
      body: ociCreateBody,
      facts: async ({ body }) => {
        const { facts, result } = ociCreateFacts({ ...body, spec: checkSpec(body.spec) });
        results.set(body, result);
        return facts;
      },
      handler: async ({ body }) => {
        const r = results.get(body);
        if (!r) throw new Error('oci.create: no hardening was worked out for this request');
        return r;
      },
    }),
    ociUpdateRoute(),
  ];
}
