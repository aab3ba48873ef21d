/**
 * The subset of Docker's Engine API (v1.41 shapes) that the `docker` CLI needs for ps, images,
 * pull, create, start, wait, logs, stop, kill, rm, rmi, inspect, info and version. Each request
 * is translated onto a router route (so the policy decides it, as for the CLI) and the result
 * back into Docker's shape. What moat does not offer is refused with a message the CLI prints:
 * attach (use `docker run -d` and `docker logs`), TTYs, and every option that would loosen
 * the isolation (`--privileged`, host namespaces, devices, an unconfined seccomp profile).
 *
 * The hardened defaults stay: Docker's `ReadonlyRootfs: false` is what its CLI always sends, so
 * it does not make the root writable (moat's own API has `readWrite`).
 */
import { arch, release } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ContainerRecord } from '../runtime/state.js';
import { defaultRunOptions, parseVolume, type RunOptions } from '../runtime/options.js';
import { dockerLogConfig, logConfigOf, parseLogOptions } from '../runtime/logs/config.js';
import type { Call } from './docker/call.js';
import { imageFacts, imageIds } from './docker/list-facts.js';
import { containerQuery, imageQuery, selectContainers, selectImages } from './docker/list.js';
import { serveLogs } from './docker/logs.js';
import { serveStats } from './docker/stats.js';
import { dockerExecs } from './docker/exec.js';
import { refuseUnsupported } from './docker/unsupported.js';
import { LIMIT_DEFAULTS } from '../runtime/default-limits.js';
import {
  checkNamespaceModes,
  hostOptionsFromDocker,
  mountsFromDocker,
  tmpfsFromDocker,
} from './docker/create-options.js';
import { framer, settled, sink } from './docker/stream.js';
import { ApiError } from './errors.js';
import { errorBody, readJson, sendJson, statusOf, subjectOf, type ApiServerOptions } from './server.js';

export const DOCKER_API_VERSION = '1.41';
const MIN_API_VERSION = '1.24';

type Handler = (
  call: Call,
  m: RegExpExecArray,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
) => Promise<void>;

const dockerArch = (): string =>
  ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' })[arch()] ?? arch();
const epoch = (iso: string | undefined): number => (iso ? Math.floor(Date.parse(iso) / 1000) : 0);
const flag = (v: string | null): boolean => v !== null && v !== '0' && v !== 'false' && v !== '';

/** Docker's error shape: `{ message }`, with the status the code maps to. */
function sendError(res: ServerResponse, e: unknown): void {
  const b = errorBody(e);
  sendJson(res, statusOf(b.code), { message: b.hint ? `${b.message} (${b.hint})` : b.message, code: b.code });
}

function noContent(res: ServerResponse): void {
  res.writeHead(204).end();
}

/** "Up 3 minutes", "Exited (0) 5 seconds ago", "Created". */
export function humanStatus(c: ContainerRecord, now = Date.now()): string {
  const ago = (iso: string | undefined): string => {
    const s = Math.max(0, Math.round((now - Date.parse(iso ?? '')) / 1000));
    if (!Number.isFinite(s)) return 'a while';
    if (s < 60) return s <= 1 ? 'Less than a second' : `${s} seconds`;
    const m = Math.round(s / 60);
    if (m < 60) return m === 1 ? 'About a minute' : `${m} minutes`;
    const h = Math.round(m / 60);
    return h < 48 ? (h === 1 ? 'About an hour' : `${h} hours`) : `${Math.round(h / 24)} days`;
  };
  if (c.status === 'running') return `Up ${ago(c.startedAt)}`;
  if (c.status === 'exited') return `Exited (${c.exitCode ?? 0}) ${ago(c.finishedAt)} ago`;
  return 'Created';
}

export function containerSummary(c: ContainerRecord): Record<string, unknown> {
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.image,
    ImageID: c.imageId,
    Command: c.command.join(' '),
    Created: epoch(c.created),
    State: c.status,
    Status: humanStatus(c),
    Ports: [],
    Labels: c.options.labels ?? {},
    SizeRw: 0,
    SizeRootFs: 0,
    HostConfig: { NetworkMode: 'none' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
}

export function containerInspect(c: ContainerRecord): Record<string, unknown> {
  const o = c.options;
  const zero = '0001-01-01T00:00:00Z';
  return {
    Id: c.id,
    Created: c.created,
    Path: c.command[0] ?? '',
    Args: c.command.slice(1),
    State: {
      Status: c.status,
      Running: c.status === 'running',
      Paused: false,
      Restarting: false,
      OOMKilled: Boolean((c as { oomKilled?: boolean }).oomKilled),
      Dead: false,
      Pid: c.status === 'running' ? (c.pid ?? 0) : 0,
      ExitCode: c.exitCode ?? 0,
      Error: '',
      StartedAt: c.startedAt ?? zero,
      FinishedAt: c.finishedAt ?? zero,
    },
    Image: c.imageId,
    Name: `/${c.name}`,
    RestartCount: 0,
    Driver: 'overlay',
    Platform: 'linux',
    HostConfig: {
      Memory: o.memory ?? 0,
      MemorySwap: o.memorySwap ?? 0,
      NanoCpus: o.cpus ? Math.round(o.cpus * 1e9) : 0,
      CpuQuota: o.cpuQuota ?? 0,
      CpuPeriod: o.cpuPeriod ?? 0,
      CpusetCpus: o.cpusetCpus ?? '',
      ShmSize: o.shmSize ?? LIMIT_DEFAULTS.shmSize,
      GroupAdd: o.groupAdd ?? null,
      Sysctls: o.sysctls ?? null,
      OomScoreAdj: o.oomScoreAdj ?? 0,
      Tmpfs: Object.fromEntries(o.tmpfs.map((t) => [t.path, t.options.join(',')])),
      Ulimits: o.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      PidsLimit: o.pidsLimit ?? 0,
      ReadonlyRootfs: !o.readWrite,
      CapAdd: o.capAdd,
      CapDrop: ['ALL'],
      Privileged: false,
      AutoRemove: o.rm,
      Init: o.init,
      NetworkMode: 'none',
      SecurityOpt: ['no-new-privileges', `seccomp=${o.seccompProfile ?? 'moat-default'}`],
      LogConfig: dockerLogConfig(c.logConfig ?? logConfigOf(o.log)),
    },
    Config: {
      Hostname: o.hostname ?? '',
      User: o.user ?? '',
      Env: o.env,
      Cmd: o.cmd ?? null,
      Entrypoint: o.entrypoint ?? null,
      Image: c.image,
      WorkingDir: o.workdir ?? '',
      Labels: o.labels ?? {},
      OpenStdin: o.interactive,
      Tty: false,
    },
    Mounts: o.volumes.map((v) => ({
      Type: 'bind',
      Source: v.host,
      Destination: v.container,
      RW: !v.readonly,
      Mode: v.readonly ? 'ro' : 'rw',
    })),
    NetworkSettings: { Networks: {} },
  };
}

interface ImageRec {
  id: string;
  names: string[];
  repoDigests?: string[];
  created: string;
  size: number;
}

export function imageSummary(i: ImageRec): Record<string, unknown> {
  // Docker's dangling image: `<none>:<none>` and `<none>@<none>`; the CLI shows no row for an
  // image with only one of them.
  const none = !i.names.length && !i.repoDigests?.length;
  return {
    Id: i.id,
    ParentId: '',
    RepoTags: none ? ['<none>:<none>'] : i.names,
    RepoDigests: none ? ['<none>@<none>'] : (i.repoDigests ?? []),
    Created: epoch(i.created),
    Size: i.size,
    VirtualSize: i.size,
    SharedSize: -1,
    Labels: {},
    Containers: -1,
  };
}

/** `platform` of a pull or create: moat pulls and runs images for this host only. */
function checkPlatform(platform: string | null): void {
  if (!platform) return;
  const host = `linux/${dockerArch()}`;
  if (platform !== host && !platform.startsWith(`${host}/`))
    refuse(`--platform ${platform.slice(0, 40)}`, `moat pulls and runs images for this host (${host})`);
}

/** Refuse a Docker option that is set to something other than its default. */
function refuse(what: string, why: string): never {
  throw new ApiError('API_INVALID_REQUEST', `${what} is not supported by moat: ${why}`);
}

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : undefined;

/** Docker's create body → moat's run options (refusing what would loosen the isolation). */
export function runOptionsFromDocker(body: unknown, name: string | null): RunOptions {
  if (typeof body !== 'object' || body === null)
    throw new ApiError('API_INVALID_REQUEST', 'body must be an object');
  const b = body as Record<string, unknown>;
  if (typeof b.Image !== 'string' || !b.Image) throw new ApiError('API_INVALID_REQUEST', 'Image is required');
  const h = (typeof b.HostConfig === 'object' && b.HostConfig !== null ? b.HostConfig : {}) as Record<
    string,
    unknown
  >;
  const o = defaultRunOptions(b.Image);
  if (name) o.name = name;
  const cmd = strings(b.Cmd);
  if (cmd) o.cmd = cmd;
  if (b.Entrypoint !== undefined && b.Entrypoint !== null) o.entrypoint = strings(b.Entrypoint) ?? [];
  o.env = strings(b.Env) ?? [];
  if (typeof b.WorkingDir === 'string' && b.WorkingDir) o.workdir = b.WorkingDir;
  if (typeof b.User === 'string' && b.User) o.user = b.User;
  if (typeof b.Hostname === 'string' && b.Hostname) o.hostname = b.Hostname;
  if (typeof b.Labels === 'object' && b.Labels !== null)
    o.labels = Object.fromEntries(Object.entries(b.Labels).map(([k, v]) => [k, String(v)]));
  if (b.Tty === true) refuse('a TTY (-t)', 'the API attaches output only; run terminals with the moat CLI');
  if (b.OpenStdin === true)
    refuse('stdin (-i)', 'the API attaches output only; run interactive containers with the moat CLI');
  if (h.Privileged === true) refuse('--privileged', 'moat never runs privileged containers');
  checkNamespaceModes(h);
  if (h.NetworkMode === 'host') refuse('--network=host', 'containers get no network namespace of the host');
  if (Array.isArray(h.Devices) && h.Devices.length) refuse('--device', 'device nodes are not passed in');
  if (Array.isArray(h.DeviceRequests) && h.DeviceRequests.length)
    refuse('--gpus', 'devices are not passed in');
  for (const s of strings(h.SecurityOpt) ?? []) {
    if (/^no-new-privileges(:true|=true)?$/.test(s)) continue; // always on
    refuse(`--security-opt ${s.slice(0, 40)}`, "moat's seccomp profile and no_new_privs always apply");
  }
  refuseUnsupported(b, h);
  if (typeof h.Memory === 'number' && h.Memory > 0) o.memory = h.Memory;
  if (typeof h.NanoCpus === 'number' && h.NanoCpus > 0) o.cpus = h.NanoCpus / 1e9;
  // Docker: 0 or -1 is no limit; absent (null) leaves moat's default.
  if (typeof h.PidsLimit === 'number') o.pidsLimit = h.PidsLimit > 0 ? h.PidsLimit : -1;
  if (h.Init === true) o.init = true;
  if (h.AutoRemove === true) o.rm = true;
  o.capAdd = strings(h.CapAdd) ?? [];
  Object.assign(o, hostOptionsFromDocker(h));
  // --mount gives the same binds and tmpfs mounts as -v and --tmpfs, checked alike.
  const mounts = mountsFromDocker(h.Mounts);
  o.volumes = [...(strings(h.Binds) ?? []).map((s) => parseVolume(s)), ...mounts.volumes];
  o.tmpfs = [...tmpfsFromDocker(h.Tmpfs), ...mounts.tmpfs];
  if (Array.isArray(h.Ulimits))
    o.ulimits = (h.Ulimits as Record<string, unknown>[]).map((u) => ({
      name: String(u?.Name),
      soft: Number(u?.Soft),
      hard: Number(u?.Hard),
    }));
  // --log-driver and --log-opt (Docker's map of strings): what moat's log takes, or refused.
  const lc = (typeof h.LogConfig === 'object' && h.LogConfig !== null ? h.LogConfig : {}) as {
    Type?: unknown;
    Config?: unknown;
  };
  const logOpts = typeof lc.Config === 'object' && lc.Config !== null ? lc.Config : {};
  const log = parseLogOptions(
    typeof lc.Type === 'string' ? lc.Type : undefined,
    Object.fromEntries(Object.entries(logOpts).map(([k, v]) => [k, String(v)])),
  );
  if (log) o.log = log;
  return o;
}

export interface DockerApi {
  request: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
  /** `POST /containers/{id}/attach` with `Upgrade: tcp`: the container's output as a raw stream. */
  upgrade: (req: IncomingMessage, socket: Duplex) => Promise<void>;
}

export function dockerApi(o: ApiServerOptions): DockerApi {
  const execs = dockerExecs();
  /** Requests on the router as the sender of `req`. */
  const callerFor =
    (req: IncomingMessage): Call =>
    (method, path, body = {}, io, onAllowed) =>
      o.router.handle({
        subject: subjectOf(o, req),
        method,
        path,
        body,
        ...(io ? { io } : {}),
        ...(onAllowed ? { onAllowed } : {}),
      });
  const enc = encodeURIComponent;
  /*
   * AutoRemove (`docker run --rm`) is the run option `rm`: the container's monitor removes it when
   * it exits (or fails to start), after noting its exit status for `wait?condition=removed` — also
   * when this service is gone by then. An attached client reads the log to its end meanwhile.
   */

  const routes: [string, RegExp, Handler][] = [
    [
      'GET',
      /^\/version$/,
      async (call, _m, _req, res) => {
        await call('GET', '/info'); // decided like any request
        const details = {
          ApiVersion: DOCKER_API_VERSION,
          MinAPIVersion: MIN_API_VERSION,
          Os: 'linux',
          Arch: dockerArch(),
          KernelVersion: release(),
        };
        sendJson(res, 200, {
          Platform: { Name: 'moat' },
          Components: [{ Name: 'Engine', Version: o.version, Details: details }],
          Version: o.version,
          ...details,
          GitCommit: '',
          GoVersion: '',
          BuildTime: '',
        });
      },
    ],
    [
      'GET',
      /^\/info$/,
      async (call, _m, _req, res) => {
        const info = (await call('GET', '/info')) as Record<string, Record<string, unknown>>;
        const containers = (await call('GET', '/containers', { all: true })) as ContainerRecord[];
        const images = (await call('GET', '/images')) as unknown[];
        const count = (s: string) => containers.filter((c) => c.status === s).length;
        sendJson(res, 200, {
          ID: '',
          Name: 'moat',
          ServerVersion: o.version,
          Containers: containers.length,
          ContainersRunning: count('running'),
          ContainersPaused: 0,
          ContainersStopped: containers.length - count('running'),
          Images: images.length,
          Driver: 'overlay',
          OperatingSystem: 'moat (rootless)',
          OSType: 'linux',
          Architecture: dockerArch(),
          KernelVersion: release(),
          CgroupVersion: String(info.cgroups?.version ?? ''),
          SecurityOptions: [
            'name=seccomp,profile=moat-default',
            'name=rootless',
            'name=userns',
            'name=no-new-privileges',
          ],
          DefaultRuntime: 'runc',
          Runtimes: { runc: { path: String((info.runtime as Record<string, unknown>)?.path ?? 'runc') } },
          DockerRootDir: String((info.paths as Record<string, unknown>)?.data ?? ''),
          Warnings: [],
        });
      },
    ],
    [
      'GET',
      /^\/images\/json$/,
      async (call, _m, _req, res, url) => {
        const q = imageQuery(url.searchParams);
        const images = (await call('GET', '/images')) as ImageRec[];
        const facts = await imageFacts(call, q, images);
        sendJson(res, 200, selectImages(images, q, facts).map(imageSummary));
      },
    ],
    [
      'GET',
      /^\/images\/(.+)\/json$/,
      async (call, m, _req, res) => {
        const i = (await call('GET', `/images/${enc(m[1])}/json`)) as ImageRec & {
          config?: { architecture?: string; os?: string; config?: unknown; rootfs?: { diff_ids?: string[] } };
        };
        sendJson(res, 200, {
          ...imageSummary(i),
          Created: i.created,
          Architecture: i.config?.architecture ?? '',
          Os: i.config?.os ?? '',
          Config: i.config?.config ?? {},
          RootFS: { Type: 'layers', Layers: i.config?.rootfs?.diff_ids ?? [] },
        });
      },
    ],
    [
      'DELETE',
      /^\/images\/(.+)$/,
      async (call, m, _req, res, url) => {
        const r = (await call('DELETE', `/images/${enc(m[1])}`, {
          force: flag(url.searchParams.get('force')),
        })) as {
          untagged?: string[];
          deleted?: string[];
        };
        sendJson(res, 200, [
          ...(r.untagged ?? [m[1]]).map((u) => ({ Untagged: u })),
          ...(r.deleted ?? []).map((d) => ({ Deleted: d })),
        ]);
      },
    ],
    [
      'POST',
      /^\/images\/create$/,
      async (call, _m, _req, res, url) => {
        const from = url.searchParams.get('fromImage');
        if (!from)
          throw new ApiError('API_INVALID_REQUEST', 'fromImage is required (moat pulls; it does not import)');
        const tag = url.searchParams.get('tag');
        // Without a tag, in the parameter or the name, Docker pulls every tag (docker pull -a).
        if (!tag && !/@|:[^/]*$/.test(from)) refuse('docker pull -a (every tag)', 'name the tag to pull');
        checkPlatform(url.searchParams.get('platform'));
        const reference = tag ? `${from}${tag.startsWith('sha256:') ? '@' : ':'}${tag}` : from;
        let started = false;
        const line = (o2: unknown) => {
          if (!started) {
            started = true;
            res.writeHead(200, { 'content-type': 'application/json' });
          }
          res.write(JSON.stringify(o2) + '\r\n');
        };
        try {
          const r = (await call(
            'POST',
            '/images/pull',
            { reference },
            {
              stdout: sink(),
              stderr: sink(),
              progress: (msg) => line({ status: msg }),
            },
          )) as { digest?: string; reference?: string };
          if (r.digest) line({ status: `Digest: ${r.digest}` });
          line({ status: `Status: Downloaded image for ${r.reference ?? reference}` });
          res.end();
        } catch (e) {
          if (!started) throw e;
          const b = errorBody(e);
          line({ errorDetail: { message: b.message }, error: b.message });
          res.end();
        }
      },
    ],
    [
      'GET',
      /^\/containers\/json$/,
      async (call, _m, _req, res, url) => {
        const q = containerQuery(url.searchParams);
        // Every record: limits and filters choose among stopped ones too.
        const recs = (await call('GET', '/containers', { all: true })) as ContainerRecord[];
        const ancestors = q.filters.get('ancestor');
        const ids = ancestors ? await imageIds(call, ancestors) : undefined;
        sendJson(res, 200, selectContainers(recs, q, ids).map(containerSummary));
      },
    ],
    [
      'POST',
      /^\/containers\/create$/,
      async (call, _m, req, res, url) => {
        checkPlatform(url.searchParams.get('platform'));
        const options = runOptionsFromDocker(await readJson(req), url.searchParams.get('name'));
        const r = (await call('POST', '/containers/create', { options })) as {
          id: string;
          warnings?: string[];
        };
        sendJson(res, 201, { Id: r.id, Warnings: r.warnings ?? [] });
      },
    ],
    [
      'GET',
      /^\/containers\/([^/]+)\/json$/,
      async (call, m, _req, res) =>
        sendJson(
          res,
          200,
          containerInspect((await call('GET', `/containers/${enc(m[1])}/json`)) as ContainerRecord),
        ),
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/start$/,
      async (call, m, _req, res) => {
        await call('POST', `/containers/${enc(m[1])}/start`);
        noContent(res);
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/wait$/,
      async (call, m, _req, res, url) => {
        const c = url.searchParams.get('condition');
        const body = c === 'next-exit' || c === 'removed' || c === 'not-running' ? { condition: c } : {};
        // Docker's client reads the headers before it starts the container it waits for (docker
        // run): they go out as soon as the policy allowed the wait; the result follows.
        const allowed = () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders();
        };
        let r: { exitCode?: number };
        try {
          r = (await call('POST', `/containers/${enc(m[1])}/wait`, body, undefined, allowed)) as {
            exitCode?: number;
          };
        } catch (e) {
          if (!res.headersSent) throw e;
          res.end(JSON.stringify({ StatusCode: 125, Error: { Message: errorBody(e).message } }));
          return;
        }
        res.end(JSON.stringify({ StatusCode: r.exitCode ?? 0, Error: null }));
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/stop$/,
      async (call, m, _req, res, url) => {
        const t = url.searchParams.get('t');
        await call(
          'POST',
          `/containers/${enc(m[1])}/stop`,
          t !== null && /^\d+$/.test(t) ? { timeout: Number(t) } : {},
        );
        noContent(res);
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/kill$/,
      async (call, m, _req, res, url) => {
        const s = url.searchParams.get('signal');
        await call('POST', `/containers/${enc(m[1])}/kill`, s ? { signal: s.replace(/^SIG/, '') } : {});
        noContent(res);
      },
    ],
    [
      'DELETE',
      /^\/containers\/([^/]+)$/,
      async (call, m, _req, res, url) => {
        await call('DELETE', `/containers/${enc(m[1])}`, { force: flag(url.searchParams.get('force')) });
        noContent(res);
      },
    ],
    [
      'GET',
      /^\/containers\/([^/]+)\/logs$/,
      async (call, m, _req, res, url) => serveLogs(call, m[1], res, url.searchParams),
    ],
    [
      'GET',
      /^\/containers\/([^/]+)\/stats$/,
      async (call, m, _req, res, url) => serveStats(call, m[1], res, url.searchParams),
    ],
    // exec: decided at create (container.exec), run at start (docker/exec.ts).
    [
      'POST',
      /^\/containers\/([^/]+)\/exec$/,
      async (call, m, req, res) =>
        sendJson(res, 201, { Id: await execs.create(call, subjectOf(o, req), m[1], await readJson(req)) }),
    ],
    [
      'POST',
      /^\/exec\/([^/]+)\/start$/,
      async (_call, m, req, res) => execs.start(subjectOf(o, req), m[1], await readJson(req), res),
    ],
    [
      'GET',
      /^\/exec\/([^/]+)\/json$/,
      async (_call, m, req, res) => sendJson(res, 200, execs.inspect(subjectOf(o, req), m[1])),
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/(attach|resize|pause|unpause|restart|rename|update)$/,
      async (_call, m) => {
        throw new ApiError(
          'API_NOT_IMPLEMENTED',
          `${m[2]} is not offered by moat's API${m[2] === 'attach' ? ' without an upgrade to a raw stream' : ''}`,
        );
      },
    ],
  ];

  const request = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    // Versioned paths (/v1.41/...) are served the same as unversioned ones.
    const p = url.pathname.replace(/^\/v1\.\d+(?=\/)/, '');
    if (p === '/_ping') {
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'api-version': DOCKER_API_VERSION,
        ostype: 'linux',
        'docker-experimental': 'false',
        'cache-control': 'no-cache, no-store, must-revalidate',
      });
      res.end(req.method === 'HEAD' ? undefined : 'OK');
      return;
    }
    for (const [m, re, h] of routes) {
      if (m !== method) continue;
      const match = re.exec(p);
      if (!match) continue;
      try {
        await h(callerFor(req), match, req, res, url);
      } catch (e) {
        if (res.headersSent) res.destroy();
        else sendError(res, e);
      }
      return;
    }
    sendJson(res, 404, {
      message: `moat does not implement ${req.method} ${p} of Docker's API`,
      code: 'API_NOT_FOUND',
    });
  };
  /*
   * Attach: what `docker run` does before it starts the container. Only output is offered (moat
   * refuses -i over the API). The policy decides `container.logs` first (a read of no lines);
   * then the connection is upgraded and the output follows, framed as in `logs`, from the start
   * until the container exits.
   */
  const upgrade = async (req: IncomingMessage, socket: Duplex): Promise<void> => {
    const call = callerFor(req);
    const url = new URL(req.url ?? '/', 'http://moat');
    const p = url.pathname.replace(/^\/v1\.\d+(?=\/)/, '');
    const m = /^\/containers\/([^/]+)\/attach$/.exec(p);
    const fail = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Error'}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
      );
    };
    const ex = /^\/exec\/([^/]+)\/start$/.exec(p);
    if (req.method === 'POST' && ex) {
      const answer = () =>
        socket.write(
          'HTTP/1.1 101 UPGRADED\r\ncontent-type: application/vnd.docker.raw-stream\r\n' +
            'connection: Upgrade\r\nupgrade: tcp\r\n\r\n',
        );
      try {
        await execs.startUpgraded(subjectOf(o, req), ex[1], socket, answer);
      } catch (e) {
        const b = errorBody(e);
        fail(statusOf(b.code), { message: b.message, code: b.code });
      }
      return;
    }
    if (req.method !== 'POST' || !m) {
      fail(404, { message: `moat does not upgrade ${req.method} ${p}`, code: 'API_NOT_FOUND' });
      return;
    }
    const q = url.searchParams;
    const path = `/containers/${enc(m[1])}/logs`;
    let fromStart = flag(q.get('logs'));
    try {
      if (flag(q.get('stdin'))) refuse('attaching stdin', 'run interactive containers with the moat CLI');
      await call('GET', path, { tail: 0 }, { stdout: sink(), stderr: sink() });
      // docker run attaches before it starts the container: then every line is new output, and
      // skipping what is there when the follow begins could drop lines written meanwhile.
      const c = (await call('GET', `/containers/${enc(m[1])}/json`)) as ContainerRecord;
      if (c.status === 'created') fromStart = true;
    } catch (e) {
      const b = errorBody(e);
      fail(statusOf(b.code), { message: b.message, code: b.code });
      return;
    }
    // The upgrade is answered once the follow holds the log open: docker run starts the
    // container when it has the answer, and with --rm the container (and its log) may be gone
    // soon after.
    let upgraded = false;
    const answer = () => {
      if (upgraded) return;
      upgraded = true;
      socket.write(
        'HTTP/1.1 101 UPGRADED\r\ncontent-type: application/vnd.docker.raw-stream\r\n' +
          'connection: Upgrade\r\nupgrade: tcp\r\n\r\n',
      );
    };
    const wanted = (name: string, n: 1 | 2) =>
      !q.has(name) || flag(q.get(name)) ? framer(socket, n) : sink();
    const stdout = wanted('stdout', 1);
    const stderr = wanted('stderr', 2);
    const following = call(
      'GET',
      path,
      { follow: true, untilExit: true, ...(fromStart ? {} : { tail: 0 }) },
      { stdout, stderr, ready: answer },
    ).then(
      () => answer(),
      (e: unknown) => {
        answer();
        stderr.write(Buffer.from(`moat: ${errorBody(e).message}\n`));
      },
    );
    await following;
    // The last lines may still be queued in the framers: the socket ends after them.
    stdout.end();
    stderr.end();
    await Promise.all([settled(stdout), settled(stderr)]);
    socket.end();
  };

  return { request, upgrade };
}
