/** JSON schemas of request bodies. The router refuses anything else (additionalProperties: false). */
import { logOptionsSchema } from '../runtime/logs/config.js';
import { PROFILE_NAME } from '../lsm/apparmor/profile.js';

const str = { type: 'string' } as const;
const strArr = { type: 'array', items: { type: 'string' } } as const;
const posInt = { type: 'integer', minimum: 1 } as const;
/** TCP ports for Landlock's rules (at most runtime/options.ts's LANDLOCK_MAX_PORTS, as the CLI). */
const tcpPorts = {
  type: 'array',
  maxItems: 1024,
  items: { type: 'integer', minimum: 0, maximum: 65535 },
} as const;

export const empty = { type: 'object', additionalProperties: false, properties: {} } as const;

export const runOptions = {
  type: 'object',
  additionalProperties: false,
  required: [
    'image',
    'env',
    'volumes',
    'tmpfs',
    'readWrite',
    'capAdd',
    'ulimits',
    'init',
    'rm',
    'interactive',
    'labels',
  ],
  properties: {
    image: { type: 'string', minLength: 1, maxLength: 1024 },
    name: { type: 'string', minLength: 1, maxLength: 128 },
    cmd: strArr,
    entrypoint: strArr,
    env: { type: 'array', items: { type: 'string', pattern: '^[^=]+=' } },
    workdir: { type: 'string', pattern: '^/' },
    user: { type: 'string', pattern: '^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$' },
    hostname: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$' },
    volumes: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['host', 'container', 'readonly'],
        properties: {
          // A bind's host path; '' for a volume (planning sets its directory, never the client).
          host: { type: 'string', pattern: '^(/|$)', maxLength: 4096 },
          container: { type: 'string', pattern: '^/', maxLength: 4096 },
          readonly: { type: 'boolean' },
          // A volume's name ('' for an anonymous one: planning names it).
          volume: { type: 'string', pattern: '^([a-zA-Z0-9][a-zA-Z0-9_.-]+)?$', maxLength: 255 },
          anonymous: { type: 'boolean' },
          nocopy: { type: 'boolean' },
          volumeLabels: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 256 },
          volumeOptions: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 16 },
        },
      },
    },
    tmpfs: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['path', 'options'],
        properties: { path: { type: 'string', pattern: '^/' }, options: strArr },
      },
    },
    readWrite: { type: 'boolean' },
    // none, slirp4netns, pasta, a user-defined network's name, or container:NAME (network/plan.ts).
    network: { type: 'string', pattern: '^(container:)?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$' },
    seccompLearn: { type: 'string', pattern: '^/', maxLength: 4096 },
    seccompAllowNamespaces: { type: 'boolean' },
    networkAliases: {
      type: 'array',
      maxItems: 64,
      items: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$' },
    },
    ports: {
      type: 'array',
      maxItems: 256,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['hostIp', 'hostPort', 'containerPort', 'protocol'],
        properties: {
          hostIp: { type: 'string', maxLength: 64 },
          hostPort: { type: 'integer', minimum: 0, maximum: 65535 },
          containerPort: { type: 'integer', minimum: 1, maximum: 65535 },
          protocol: { type: 'string', enum: ['tcp', 'udp'] },
        },
      },
    },
    publishAll: { type: 'boolean' },
    dns: { type: 'array', maxItems: 8, items: { type: 'string', maxLength: 64 } },
    addHosts: { type: 'array', maxItems: 256, items: { type: 'string', maxLength: 300 } },
    volumesFrom: {
      type: 'array',
      maxItems: 64,
      items: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*(:(ro|rw))?$' },
    },
    capAdd: strArr,
    memory: posInt,
    // A limit, or -1 for none (0 is taken as none too, as Docker); unset: moat's default.
    pidsLimit: { type: 'integer', minimum: -1 },
    cpus: { type: 'number', exclusiveMinimum: 0, maximum: 1024 },
    // Types here; ranges, conflicts and what may be set in runtime/option-checks.ts, whose
    // messages name the docker flags (the same for the CLI, /v1 and the Docker API).
    cpuQuota: { type: 'integer' },
    cpuPeriod: { type: 'integer' },
    cpusetCpus: { type: 'string', maxLength: 256 },
    memorySwap: { type: 'integer' },
    shmSize: { type: 'integer' },
    groupAdd: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 64 } },
    sysctls: { type: 'object', maxProperties: 64, additionalProperties: { type: 'string' } },
    oomScoreAdj: { type: 'integer' },
    ulimits: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'soft', 'hard'],
        properties: {
          name: str,
          soft: { type: 'integer', minimum: 0 },
          hard: { type: 'integer', minimum: 0 },
        },
      },
    },
    init: { type: 'boolean' },
    rm: { type: 'boolean' },
    interactive: { type: 'boolean' },
    /** A pseudo-terminal (-t); unset in the records of containers made before moat had them. */
    tty: { type: 'boolean', default: false },
    health: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cmd: { type: 'string', minLength: 1, maxLength: 4096 },
        test: { type: 'array', maxItems: 256, items: { type: 'string', maxLength: 4096 } },
        interval: { type: 'integer', minimum: 0 },
        timeout: { type: 'integer', minimum: 0 },
        retries: { type: 'integer', minimum: 0 },
        startPeriod: { type: 'integer', minimum: 0 },
        none: { type: 'boolean' },
        onFailure: { enum: ['none', 'kill'] },
      },
    },
    restart: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { enum: ['no', 'on-failure', 'always', 'unless-stopped'] },
        maxRetries: { type: 'integer', minimum: 0, maximum: 999999999 },
      },
    },
    seccompProfile: { type: 'string', pattern: '^/' },
    apparmorProfile: { type: 'string', pattern: PROFILE_NAME.source },
    landlock: { enum: ['off', 'strict'] },
    landlockBind: { anyOf: [{ enum: ['declared'] }, tcpPorts] },
    landlockConnect: tcpPorts,
    expose: {
      type: 'array',
      maxItems: 1024,
      items: { type: 'string', pattern: '^[0-9]{1,5}(/(tcp|udp))?$' },
    },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    log: logOptionsSchema,
  },
} as const;

export const runBody = {
  type: 'object',
  additionalProperties: false,
  required: ['options'],
  properties: { options: runOptions, detach: { type: 'boolean' }, start: { type: 'boolean' } },
} as const;

/** start: -a attaches to the output (and -i, to stdin) as run does; else it returns once started. */
export const startBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    attach: { type: 'boolean', default: false },
    interactive: { type: 'boolean', default: false },
  },
} as const;
/** attach: stdin too (unless --no-stdin) when the container keeps it open (-i). */
export const attachBody = {
  type: 'object',
  additionalProperties: false,
  properties: { stdin: { type: 'boolean', default: true } },
} as const;

export const listBody = {
  type: 'object',
  additionalProperties: false,
  properties: { all: { type: 'boolean' } },
} as const;
export const forceBody = {
  type: 'object',
  additionalProperties: false,
  properties: { force: { type: 'boolean' } },
} as const;
/** rm: -f, and -v (the container's anonymous volumes too). */
export const removeBody = {
  type: 'object',
  additionalProperties: false,
  properties: { force: { type: 'boolean' }, volumes: { type: 'boolean' } },
} as const;
// Defaults are declared here, once: the router fills them in (ajv useDefaults), `moat --help`
// shows them, and neither the handlers nor the engine restate them.
export const stopBody = {
  type: 'object',
  additionalProperties: false,
  /** Seconds between the stop signal and SIGKILL. */
  properties: { timeout: { type: 'integer', minimum: 0, maximum: 86400, default: 10 } },
} as const;
export const killBody = {
  type: 'object',
  additionalProperties: false,
  properties: { signal: { type: 'string', pattern: '^[A-Za-z0-9+-]{1,16}$', default: 'KILL' } },
} as const;
export const logsBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    follow: { type: 'boolean' },
    /** With follow: also wait while the container is created but not started (attach). */
    untilExit: { type: 'boolean' },
    timestamps: { type: 'boolean' },
    tail: { type: 'integer', minimum: 0 },
    /** Only lines written at or after / at or before these times (Unix seconds). */
    since: { type: 'number', minimum: 0 },
    until: { type: 'number', minimum: 0 },
  },
} as const;
export const waitBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    /** Docker's: until not running (default), until the next exit (a created container first runs), until removed. */
    condition: { enum: ['not-running', 'next-exit', 'removed'] },
  },
} as const;
export const execBody = {
  type: 'object',
  additionalProperties: false,
  required: ['cmd'],
  properties: {
    cmd: { type: 'array', minItems: 1, items: str },
    env: { type: 'array', items: { type: 'string', pattern: '^[^=]+=' } },
    // As run's: a UID or a name from the container's /etc/passwd, each with an optional group.
    user: { type: 'string', pattern: '^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$' },
    workdir: { type: 'string', pattern: '^/' },
    interactive: { type: 'boolean' },
    tty: { type: 'boolean', default: false },
  },
} as const;
export const loadBody = {
  type: 'object',
  additionalProperties: false,
  required: ['file'],
  properties: { file: { type: 'string', minLength: 1 } },
} as const;
export const importBody = {
  type: 'object',
  additionalProperties: false,
  required: ['file', 'name'],
  properties: {
    file: { type: 'string', minLength: 1 },
    name: { type: 'string', minLength: 1 },
    changes: strArr,
  },
} as const;
export const tagBody = {
  type: 'object',
  additionalProperties: false,
  required: ['target'],
  properties: { target: { type: 'string', minLength: 1 } },
} as const;

// Registries (registry-routes.ts).
const tlsVerify = { type: 'boolean' } as const;
export const pullBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reference'],
  properties: {
    reference: { type: 'string', minLength: 1, maxLength: 1024 },
    platform: { type: 'string', pattern: '^[a-z0-9._-]+/[a-z0-9._-]+(/[a-z0-9._-]+)?$' },
    tlsVerify,
    unpack: { type: 'boolean' },
  },
} as const;
export const pushBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    destination: { type: 'string', minLength: 1, maxLength: 1024 },
    tlsVerify,
    chunkSize: { type: 'integer', minimum: 0 },
  },
} as const;
export const loginBody = {
  type: 'object',
  additionalProperties: false,
  required: ['registry', 'username', 'password'],
  properties: {
    registry: { type: 'string', minLength: 1, maxLength: 512 },
    username: { type: 'string', minLength: 1, maxLength: 512 },
    password: { type: 'string', minLength: 1, maxLength: 16384 },
    tlsVerify,
  },
} as const;
export const logoutBody = {
  type: 'object',
  additionalProperties: false,
  properties: { registry: { type: 'string', minLength: 1, maxLength: 512 }, all: { type: 'boolean' } },
} as const;
export const saveBody = {
  type: 'object',
  additionalProperties: false,
  required: ['images', 'file'],
  properties: {
    images: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    file: { type: 'string', pattern: '^/' },
    format: { enum: ['oci-archive', 'docker-archive'] },
  },
} as const;
export const pruneBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    /** Unreferenced blobs, temp files and unpacked roots only when older (protects pulls in progress). */
    minAgeSeconds: { type: 'integer', minimum: 0, default: 600 },
    all: { type: 'boolean' },
  },
} as const;
export const fsckBody = {
  type: 'object',
  additionalProperties: false,
  properties: { repair: { type: 'boolean' } },
} as const;

// The rest of a container's lifecycle and its observation (lifecycle-routes.ts).
/**
 * update: the limits to change, as run's (their checks are create's: runtime/update.ts);
 * cpuQuota -1 removes the quota, pidsLimit 0 or -1 the process limit.
 */
export const updateBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    memory: runOptions.properties.memory,
    memorySwap: runOptions.properties.memorySwap,
    cpus: runOptions.properties.cpus,
    cpuQuota: runOptions.properties.cpuQuota,
    cpuPeriod: runOptions.properties.cpuPeriod,
    cpusetCpus: runOptions.properties.cpusetCpus,
    pidsLimit: runOptions.properties.pidsLimit,
  },
} as const;
/** restart: stop's timeout, then a start (decided as one). */
export const restartBody = stopBody;
/** rename: the new name (its rules are create's: runtime/rename.ts). */
export const renameBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;
/**
 * container prune: which stopped containers (Docker's prune filters, parsed by the CLI and the
 * Docker layer): created before `until` (Unix seconds), every `label` holding, no `labelNot`.
 */
export const containerPruneBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    until: { type: 'number', minimum: 0 },
    label: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 1024 } },
    labelNot: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 1024 } },
  },
} as const;
/** top: ps's options (runtime/top/ps.ts says which); none: `-ef`. */
export const topBody = {
  type: 'object',
  additionalProperties: false,
  properties: { psArgs: { type: 'string', maxLength: 256 } },
} as const;
/** volume create: docker's `volume create [--label K=V] [--opt K=V] [NAME]` (no name: a random one). */
export const volumeCreateBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]+$', maxLength: 255 },
    driver: { type: 'string', enum: ['local'] },
    labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 4096 }, maxProperties: 256 },
    options: { type: 'object', additionalProperties: { type: 'string', maxLength: 4096 }, maxProperties: 16 },
  },
} as const;
/** network create: `moat network create`, docker's POST /networks/create. */
export const networkCreateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$' },
    driver: { type: 'string', maxLength: 64 },
    subnet: { type: 'string', maxLength: 64 },
    internal: { type: 'boolean' },
    labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 4096 }, maxProperties: 256 },
    options: { type: 'object', additionalProperties: { type: 'string', maxLength: 256 }, maxProperties: 16 },
  },
} as const;
/** network connect / disconnect: the container, its aliases there; disconnect's force. */
export const networkConnectBody = {
  type: 'object',
  additionalProperties: false,
  required: ['container'],
  properties: {
    container: { type: 'string', minLength: 1, maxLength: 128 },
    aliases: {
      type: 'array',
      maxItems: 64,
      items: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$' },
    },
    force: { type: 'boolean' },
  },
} as const;
/** network prune: networks no container is on, every `label` holding, no `labelNot`. */
export const networkPruneBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    label: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 1024 } },
    labelNot: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 1024 } },
  },
} as const;
/** volume prune: unused anonymous volumes (all unused ones with `all`), every `label` holding, no `labelNot`. */
export const volumePruneBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    all: { type: 'boolean' },
    label: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 1024 } },
    labelNot: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 1024 } },
  },
} as const;
