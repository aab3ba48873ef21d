import { SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS } from './types.js';

/**
 * JSON schema of a seccomp profile file (Docker's format, restricted to what runc 1.1.5 can
 * apply). Objects refuse unknown keys so a misspelt `excludes` or `errnoret` is an error instead
 * of a silently wider profile. Checks that need more than one field at a time live in parse.ts.
 */

/** Linux errno values are 1..4095; 0 makes the call "succeed" without running (allowed, rare). */
const errno = { type: 'integer', minimum: 0, maximum: 4095 } as const;

/**
 * Argument values are uint64 in the kernel, but a JSON number past 2^53 has already lost bits
 * by the time anyone reads it, which would silently change the comparison.
 */
const u64 = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

const capList = {
  type: 'array',
  items: { type: 'string', pattern: '^(CAP_)?[A-Z][A-Z0-9_]*$' },
} as const;

const archList = {
  type: 'array',
  items: { type: 'string', pattern: '^[a-z0-9_]+$' },
} as const;

export const profileSchema = {
  $id: 'moat:seccomp-profile',
  type: 'object',
  additionalProperties: false,
  required: ['defaultAction'],
  properties: {
    defaultAction: { enum: SECCOMP_ACTIONS },
    defaultErrnoRet: errno,
    architectures: { type: 'array', uniqueItems: true, items: { enum: SECCOMP_ARCHES } },
    archMap: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['architecture'],
        properties: {
          architecture: { enum: SECCOMP_ARCHES },
          subArchitectures: { type: 'array', uniqueItems: true, items: { enum: SECCOMP_ARCHES } },
        },
      },
    },
    flags: { type: 'array', uniqueItems: true, items: { enum: SECCOMP_FLAGS } },
    listenerPath: { type: 'string', minLength: 1 },
    listenerMetadata: { type: 'string' },
    syscalls: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['names', 'action'],
        properties: {
          names: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', pattern: '^[a-z_][a-z0-9_]*$', maxLength: 64 },
          },
          action: { enum: SECCOMP_ACTIONS },
          errnoRet: errno,
          args: {
            type: 'array',
            maxItems: 6,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['index', 'value', 'op'],
              properties: {
                index: { type: 'integer', minimum: 0, maximum: 5 },
                value: u64,
                valueTwo: u64,
                op: { enum: SECCOMP_OPERATORS },
              },
            },
          },
          comment: { type: 'string' },
          includes: {
            type: 'object',
            additionalProperties: false,
            properties: {
              caps: capList,
              arches: archList,
              minKernel: { type: 'string', pattern: '^[0-9]+\\.[0-9]+$' },
            },
          },
          excludes: {
            type: 'object',
            additionalProperties: false,
            properties: { caps: capList, arches: archList },
          },
        },
      },
    },
  },
} as const;
