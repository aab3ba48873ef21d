/**
 * `system.service`: `moat system service` asks the policy before it listens, like every other
 * request, with where it would listen and how clients would authenticate. The route does nothing
 * but answer: the service process itself asks it (in-process, `via: cli`); over the API it is
 * refused after the decision, since a client cannot start a service.
 */
import { isIP } from 'node:net';
import { ApiError } from './errors.js';
import { canonicalPath } from './host-facts.js';
import { defineRoute, type AnyRoute, type RouteContext } from './router.js';

export interface ServiceBody {
  transport: 'unix' | 'tcp';
  /** The socket path, or `host:port`. */
  address: string;
  /** For TCP: what the TLS listener demands of clients. */
  tls?: { clientCertRequired: boolean; caSubjects?: string[]; minVersion?: string };
}

const body = {
  type: 'object',
  additionalProperties: false,
  required: ['transport', 'address'],
  properties: {
    transport: { enum: ['unix', 'tcp'] },
    address: { type: 'string', minLength: 1, maxLength: 4096 },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['clientCertRequired'],
      properties: {
        clientCertRequired: { type: 'boolean' },
        caSubjects: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 4096 } },
        minVersion: { type: 'string', maxLength: 16 },
      },
    },
  },
} as const;

function loopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** The facts of a listen request: canonical socket path, or host, port and TLS. */
export function serviceFacts(b: ServiceBody): Record<string, unknown> {
  if (b.transport === 'unix') {
    return { listen: { transport: 'unix', address: canonicalPath(b.address), raw: b.address } };
  }
  const m = /^\[?(.+?)\]?:(\d{1,5})$/.exec(b.address);
  const host = m?.[1] ?? b.address;
  return {
    listen: {
      transport: 'tcp',
      address: b.address,
      host,
      port: m ? Number(m[2]) : null,
      loopback: loopback(host),
    },
    tls: {
      enabled: Boolean(b.tls),
      client_cert_required: b.tls?.clientCertRequired === true,
      ca_subjects: b.tls?.caSubjects ?? [],
      ...(b.tls?.minVersion ? { min_version: b.tls.minVersion } : {}),
    },
  };
}

export function serviceRoute(): AnyRoute {
  return defineRoute({
    method: 'POST',
    path: '/system/service',
    action: 'system.service',
    body,
    facts: async (ctx: RouteContext<ServiceBody>) => serviceFacts(ctx.body),
    handler: async (ctx: RouteContext<ServiceBody>) => {
      if (ctx.req.subject.via !== 'cli')
        throw new ApiError(
          'API_INVALID_REQUEST',
          'system.service is asked by moat system service itself, not over the API',
        );
      return { allowed: true };
    },
  });
}
