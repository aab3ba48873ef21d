/**
 * `POST /containers/create` (docker create, the first step of docker run): Docker's create body
 * translated onto moat's run options, refusing what would loosen the isolation (`--privileged`,
 * host namespaces, devices, an unconfined seccomp profile) and what moat has no counterpart for
 * (unsupported.ts); the fields beyond the basics are named in create-options.ts.
 *
 * The hardened defaults stay: Docker's `ReadonlyRootfs: false` is what its CLI always sends, so
 * it does not make the root writable (moat's own API has `readWrite`).
 */
import { defaultRunOptions, parseSecurityOpt, parseVolume, type RunOptions } from '../../runtime/options.js';
import { parseLogOptions } from '../../runtime/logs/config.js';
import { MoatError } from '../../errors.js';
import { ApiError } from '../errors.js';
import { readJson, sendJson } from '../http.js';
import {
  checkNamespaceModes,
  hostOptionsFromDocker,
  mountsFromDocker,
  tmpfsFromDocker,
} from './create-options.js';
import { refuse, type Handler } from './handler.js';
import { exposedPorts, parsePublish, type PortSpec } from '../../runtime/network/ports.js';
import { checkPlatform } from './platform.js';
import { emptyField, refuseUnsupported } from './unsupported.js';
import { endpointAliases } from './networks.js';
import { parseRestart } from '../../runtime/restart.js';

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : undefined;

/** Docker's create body → moat's run options (refusing what would loosen the isolation). */
const DEFAULT_MODES = ['', 'default', 'bridge'];

/**
 * `--network` (NetworkMode: docker's default and `bridge` are moat's default; `none`,
 * `slirp4netns`, `pasta`, a user-defined network's name and `container:NAME` are themselves, checked
 * when the container is planned), `--network-alias` (the Aliases of NetworkingConfig's endpoint
 * for that network; --ip, --mac-address, --link there are refused, and so is a second network:
 * docker network connect adds one), `-p` (PortBindings), `-P` (PublishAllPorts), `--dns`,
 * `--add-host` (ExtraHosts).
 */
function networkFromDocker(b: Record<string, unknown>, h: Record<string, unknown>): Partial<RunOptions> {
  const o: Partial<RunOptions> = {};
  const mode = typeof h.NetworkMode === 'string' ? h.NetworkMode : '';
  if (!DEFAULT_MODES.includes(mode)) o.network = mode;
  const nc = b.NetworkingConfig as { EndpointsConfig?: unknown } | null | undefined;
  const eps = (nc && typeof nc.EndpointsConfig === 'object' ? nc.EndpointsConfig : null) ?? {};
  for (const [net, ep] of Object.entries(eps as Record<string, unknown>)) {
    const same = net === mode || (DEFAULT_MODES.includes(net) && DEFAULT_MODES.includes(mode));
    if (!same) {
      if (DEFAULT_MODES.includes(net) && emptyField(ep)) continue;
      refuse(
        `--network ${net.slice(0, 40)} with --network ${mode.slice(0, 40) || 'default'}`,
        'a container is created on one network: add it to another with docker network connect',
      );
    }
    const aliases = endpointAliases(ep);
    if (aliases.length) o.networkAliases = aliases;
  }
  const pb = h.PortBindings;
  if (pb && typeof pb === 'object') {
    const ports: PortSpec[] = [];
    for (const [key, binds] of Object.entries(pb as Record<string, unknown>)) {
      const [ctr, proto = 'tcp'] = key.split('/');
      for (const bd of Array.isArray(binds) && binds.length ? binds : [{}]) {
        const x = (bd ?? {}) as { HostIp?: unknown; HostPort?: unknown };
        const ip = typeof x.HostIp === 'string' && x.HostIp ? x.HostIp : '';
        const hp = typeof x.HostPort === 'string' ? x.HostPort : '';
        ports.push(
          parsePublish(
            `${ip.includes(':') ? `[${ip}]` : ip}${ip ? ':' : ''}${hp}${ip || hp ? ':' : ''}${ctr}/${proto}`,
          ),
        );
      }
    }
    if (ports.length) o.ports = ports;
  }
  // --expose's ports (and -p's, which docker puts there too): declared, for landlock-bind=declared.
  const expose = exposedPorts(b.ExposedPorts as Record<string, unknown> | undefined).map(
    (p) => `${p.containerPort}/${p.protocol}`,
  );
  if (expose.length) o.expose = expose;
  if (h.PublishAllPorts === true) {
    o.publishAll = true;
    // -P publishes --expose's ports (Config.ExposedPorts) as well as the image's.
    const extra = exposedPorts(b.ExposedPorts as Record<string, unknown> | undefined).filter(
      (p) => !(o.ports ?? []).some((q) => q.containerPort === p.containerPort && q.protocol === p.protocol),
    );
    if (extra.length) o.ports = [...(o.ports ?? []), ...extra];
  }
  const dns = strings(h.Dns);
  if (dns?.length) o.dns = dns;
  const extra = strings(h.ExtraHosts);
  if (extra?.length) o.addHosts = extra;
  return o;
}

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
  // -t and -i: a terminal and a stdin kept open, attached by the client (containers-attach.ts).
  if (b.Tty === true) o.tty = true;
  if (b.OpenStdin === true) o.interactive = true;
  if (h.Privileged === true) refuse('--privileged', 'moat never runs privileged containers');
  checkNamespaceModes(h);
  if (h.NetworkMode === 'host') refuse('--network=host', 'containers get no network namespace of the host');
  Object.assign(o, networkFromDocker(b, h));
  if (Array.isArray(h.Devices) && h.Devices.length) refuse('--device', 'device nodes are not passed in');
  if (Array.isArray(h.DeviceRequests) && h.DeviceRequests.length)
    refuse('--gpus', 'devices are not passed in');
  for (const s of strings(h.SecurityOpt) ?? []) {
    if (/^no-new-privileges(:true|=true)?$/.test(s)) continue; // always on
    const ll = /^landlock[=:](off|strict)$/.exec(s);
    if (ll) {
      o.landlock = ll[1] as 'off' | 'strict';
      continue;
    }
    // apparmor=NAME: a profile loaded on the host, checked as the CLI's (parseSecurityOpt); the
    // engine refuses a name not loaded, the policy decides unconfined for remote subjects. The
    // docker CLI sends seccomp=FILE as the profile's content: still refused below.
    if (/^apparmor[=:]/.test(s)) {
      o.apparmorProfile = parseSecurityOpt(s).apparmorProfile;
      continue;
    }
    if (/^landlock-(bind|connect)[=:]/.test(s)) {
      // Landlock's TCP rules, as the CLI takes them (a bad port list: RUNTIME_INVALID_OPTION).
      const { landlockBind, landlockConnect } = parseSecurityOpt(s);
      if (landlockBind !== undefined) o.landlockBind = landlockBind;
      if (landlockConnect !== undefined) o.landlockConnect = landlockConnect;
      continue;
    }
    refuse(`--security-opt ${s.slice(0, 40)}`, "moat's seccomp profile and no_new_privs always apply");
  }
  refuseUnsupported(b, h);
  if (typeof h.Memory === 'number' && h.Memory > 0) o.memory = h.Memory;
  if (typeof h.NanoCpus === 'number' && h.NanoCpus > 0) o.cpus = h.NanoCpus / 1e9;
  // Docker: 0 or -1 is no limit; absent (null) leaves moat's default.
  if (typeof h.PidsLimit === 'number') o.pidsLimit = h.PidsLimit > 0 ? h.PidsLimit : -1;
  if (h.Init === true) o.init = true;
  if (h.AutoRemove === true) o.rm = true;
  const hc = b.Healthcheck as Record<string, unknown> | undefined | null;
  if (hc && typeof hc === 'object') {
    const ms = (v: unknown) => (typeof v === 'number' && v > 0 ? Math.round(v / 1e6) : undefined);
    const test = strings(hc.Test);
    const health = {
      ...(test?.length ? { test } : {}),
      ...(ms(hc.Interval) !== undefined ? { interval: ms(hc.Interval) } : {}),
      ...(ms(hc.Timeout) !== undefined ? { timeout: ms(hc.Timeout) } : {}),
      ...(ms(hc.StartPeriod) !== undefined ? { startPeriod: ms(hc.StartPeriod) } : {}),
      ...(typeof hc.Retries === 'number' && hc.Retries > 0 ? { retries: hc.Retries } : {}),
    };
    if (Object.keys(health).length) o.health = health;
  }
  const rp = h.RestartPolicy as { Name?: unknown; MaximumRetryCount?: unknown } | undefined | null;
  if (rp && typeof rp.Name === 'string' && rp.Name !== '' && rp.Name !== 'no') {
    const n = rp.MaximumRetryCount;
    o.restart = parseRestart(typeof n === 'number' && n > 0 ? `${rp.Name}:${n}` : rp.Name);
  }
  o.capAdd = strings(h.CapAdd) ?? [];
  Object.assign(o, hostOptionsFromDocker(h));
  // --mount gives the same binds and tmpfs mounts as -v and --tmpfs, checked alike.
  const mounts = mountsFromDocker(h.Mounts);
  // Config.Volumes {"/path": {}} is docker's `-v /path`: an anonymous volume each.
  const anonymous = Object.keys(
    (typeof b.Volumes === 'object' && b.Volumes !== null ? b.Volumes : {}) as Record<string, unknown>,
  ).map((p) => parseVolume(p));
  o.volumes = [...(strings(h.Binds) ?? []).map((s) => parseVolume(s)), ...mounts.volumes, ...anonymous];
  const from = strings(h.VolumesFrom);
  if (from?.length) o.volumesFrom = from;
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

export const createContainer: Handler = async ({ call, req, res, url }) => {
  checkPlatform(url.searchParams.get('platform'));
  const options = runOptionsFromDocker(await readJson(req), url.searchParams.get('name'));
  const r = (await call('POST', '/containers/create', { options }).catch((e: unknown) => {
    // Not a 404, which the docker CLI takes for a missing image and answers by pulling it.
    if (e instanceof MoatError && e.code === 'RUNTIME_NETWORK_NOT_FOUND')
      throw new ApiError('API_INVALID_REQUEST', e.message, {
        hint: 'docker network ls lists the networks; docker network create NAME makes one',
      });
    throw e;
  })) as {
    id: string;
    warnings?: string[];
  };
  sendJson(res, 201, { Id: r.id, Warnings: r.warnings ?? [] });
};
