/**
 * `GET /containers/{id}/json` (docker inspect): a container's record in Docker's shape, saying
 * what moat always applies (no privileges, every capability dropped but those added, no network
 * unless asked, no_new_privs and its seccomp profile, a read-only root unless asked), and the
 * user-defined networks it is on (NetworkSettings.Networks).
 */
import { LIMIT_DEFAULTS } from '../../runtime/default-limits.js';
import { dockerLogConfig, logConfigOf } from '../../runtime/logs/config.js';
import type { PortSpec } from '../../runtime/network/ports.js';
import type { ContainerRecord } from '../../runtime/state.js';
import { dockerState } from '../../runtime/status.js';
import { sendJson } from '../http.js';
import type { NetworkView } from '../network-routes.js';
import { enc, type Handler } from './handler.js';
import { endpointId } from './networks.js';

/** Docker's `{"80/tcp": [{HostIp, HostPort}]}`. */
/** A Landlock port option's value as it was given: `declared`, `none` or the ports. */
const portsOpt = (v: number[] | 'declared'): string =>
  v === 'declared' ? v : v.length ? v.join(',') : 'none';

function portMap(ports: readonly PortSpec[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports)
    (out[`${p.containerPort}/${p.protocol}`] ??= []).push({
      HostIp: p.hostIp,
      HostPort: p.hostPort ? String(p.hostPort) : '',
    });
  return out;
}

/**
 * Docker's NetworkSettings.Networks: the user-defined networks the container is on (from
 * network.list's endpoints), by name, with its address, aliases and the network's gateway.
 */
export function networksOf(id: string, networks: readonly NetworkView[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of networks) {
    const ep = n.Endpoints.find((e) => e.Id === id);
    if (!ep) continue;
    const [ip, prefix] = ep.IPv4Address.split('/');
    out[n.Name] = {
      IPAMConfig: null,
      Links: null,
      Aliases: ep.Aliases.length ? ep.Aliases : null,
      MacAddress: '',
      DriverOpts: null,
      NetworkID: n.Id,
      EndpointID: endpointId(n.Id, id),
      Gateway: n.Gateway ?? '',
      IPAddress: ip,
      IPPrefixLen: Number(prefix) || 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: [ep.Name, ...ep.Aliases, id.slice(0, 12)],
    };
  }
  return out;
}

export function containerInspect(
  c: ContainerRecord & { publishedPorts?: PortSpec[] },
  networks: readonly NetworkView[] = [],
): Record<string, unknown> {
  const o = c.options;
  const zero = '0001-01-01T00:00:00Z';
  return {
    Id: c.id,
    Created: c.created,
    Path: c.command[0] ?? '',
    Args: c.command.slice(1),
    State: {
      Status: dockerState(c),
      Running: c.status === 'running',
      Paused: c.status === 'running' && Boolean(c.paused),
      Restarting: Boolean(c.restarting),
      ...(c.healthcheck && c.health
        ? {
            Health: {
              Status: c.health.status,
              FailingStreak: c.health.failingStreak,
              Log: c.health.log.map((l) => ({
                Start: l.start,
                End: l.end,
                ExitCode: l.exitCode,
                Output: l.output,
              })),
            },
          }
        : {}),
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
    RestartCount: c.restartCount ?? 0,
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
      RestartPolicy: { Name: o.restart?.name ?? 'no', MaximumRetryCount: o.restart?.maxRetries ?? 0 },
      Init: o.init,
      NetworkMode: o.network ?? 'none',
      PortBindings: portMap(o.ports ?? []),
      PublishAllPorts: Boolean(o.publishAll),
      Dns: o.dns ?? [],
      ExtraHosts: o.addHosts ?? null,
      SecurityOpt: [
        'no-new-privileges',
        `seccomp=${o.seccompProfile ?? 'moat-default'}`,
        ...(o.landlock ? [`landlock=${o.landlock}`] : []),
        ...(o.landlockBind !== undefined ? [`landlock-bind=${portsOpt(o.landlockBind)}`] : []),
        ...(o.landlockConnect !== undefined ? [`landlock-connect=${portsOpt(o.landlockConnect)}`] : []),
      ],
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
      Tty: Boolean(o.tty),
    },
    Mounts: o.volumes.map((v) => ({
      Type: v.volume === undefined ? 'bind' : 'volume',
      ...(v.volume === undefined ? {} : { Name: v.volume, Driver: 'local' }),
      Source: v.host,
      Destination: v.container,
      RW: !v.readonly,
      Mode: v.readonly ? 'ro' : v.volume === undefined ? 'rw' : '',
      Propagation: v.volume === undefined ? 'rprivate' : '',
    })),
    // The ports as published now (host ports chosen where -p gave none): what `docker port` reads.
    NetworkSettings: { Networks: networksOf(c.id, networks), Ports: portMap(c.publishedPorts ?? []) },
  };
}

export const inspectContainer: Handler = async ({ call, m, res }) => {
  const c = (await call('GET', `/containers/${enc(m[1])}/json`)) as ContainerRecord & {
    publishedPorts?: PortSpec[];
  };
  // Its networks, as network.list shows them to the same sender (a policy that does not let it
  // list networks leaves them out: the container's own record is still answered).
  const networks = (await call('GET', '/networks').catch(() => [])) as NetworkView[];
  sendJson(res, 200, containerInspect(c, networks));
};
