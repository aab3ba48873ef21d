/**
 * JSON schemas of the file routes' bodies (files-routes.ts): cp both ways, export, commit. Paths
 * in a container and on the host are absolute (the CLI resolves a relative one first).
 */
const containerPath = { type: 'string', pattern: '^/', maxLength: 4096 } as const;
/** A host path: facts.host_paths, so the policy sees it (canonical) before anything is read or written. */
const hostPath = { type: 'string', pattern: '^/', maxLength: 4096 } as const;

/** cp out: the container's path; the host path written (none: the tar to the request's stdout). */
export const copyFromBody = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: containerPath,
    hostPath,
    /** Follow the path's last symlink (`cp -L`). */
    followLink: { type: 'boolean', default: false },
    /** Only what the path is (docker's HEAD archive). */
    statOnly: { type: 'boolean', default: false },
  },
} as const;

/** cp in: where in the container; the host path read (none: a tar on the request's stdin). */
export const copyToBody = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: containerPath,
    hostPath,
    followLink: { type: 'boolean', default: false },
    /** `cp -a`: the archive's owners (mapped into the container) instead of the directory's. */
    archiveOwners: { type: 'boolean', default: false },
  },
} as const;

/** export: the host file written (none: the tar to the request's stdout). */
export const exportBody = {
  type: 'object',
  additionalProperties: false,
  properties: { hostPath },
} as const;

export const commitBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    /** REPO[:TAG]; none: the image has no name. */
    reference: { type: 'string', minLength: 1, maxLength: 1024 },
    changes: { type: 'array', maxItems: 256, items: { type: 'string', maxLength: 65536 }, default: [] },
    message: { type: 'string', maxLength: 65536 },
    author: { type: 'string', maxLength: 1024 },
    /** Freeze a running container while its layer is read (docker commit's default), where it has a freezer. */
    pause: { type: 'boolean', default: true },
  },
} as const;
