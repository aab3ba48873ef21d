/**
 * User-defined networks (`moat network create`): one record each, `<data>/networks/<id>.json`,
 * holding what the network is (name, subnet, internal, labels, options) and its endpoints: the
 * containers on it with their address and aliases. An endpoint lives from the container's create
 * (or `network connect`) to its removal (or `disconnect`): its address is stable across restarts,
 * and peers find it by name through /etc/hosts (hosts.ts). Changes are made under one lock.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { byCodeUnits } from '../../util/format.js';
import { writeJsonAtomic, readdirOrEmpty } from '../../util/fsutil.js';
import type { MoatPaths } from '../../util/paths.js';
import { RuntimeError } from '../errors.js';
import {
  gatewayOf,
  nextSubnet,
  overlaps,
  parseSubnet,
  reservedOverlap,
  subnetText,
  type Subnet,
} from './ipam.js';

/** Held while networks and their endpoints change (and while peers' /etc/hosts are rewritten). */
export const networksLock = (paths: MoatPaths): string => path.join(paths.locks, 'networks.lock');

/** The built-in modes a run names with --network: never a user-defined network's name. */
export const BUILTIN_NETWORKS = ['none', 'slirp4netns', 'pasta'] as const;
const RESERVED = new Set<string>([...BUILTIN_NETWORKS, 'host', 'bridge', 'default']);
export const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
/** An alias (--network-alias, connect --alias): a host name. */
export const ALIAS_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,62})$/;
const MAX_NETWORKS = 256;
const MAX_RECORD = 16 << 20;

export interface Endpoint {
  ip: string;
  aliases: string[];
}

export interface NetworkRecord {
  id: string;
  name: string;
  created: string;
  driver: 'bridge';
  subnet: string;
  gateway: string;
  /** No outbound access: containers on it reach only each other. */
  internal: boolean;
  labels: Record<string, string>;
  /** `allow_host_loopback=true`: containers' outbound link reaches the host's 127.0.0.1. */
  options: Record<string, string>;
  /** By container ID. */
  endpoints: Record<string, Endpoint>;
}

export interface CreateNetwork {
  subnet?: string;
  internal?: boolean;
  driver?: string;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

const notFound = (ref: string) =>
  new RuntimeError('RUNTIME_NETWORK_NOT_FOUND', `no such network: ${ref.slice(0, 100)}`, {
    hint: 'moat network ls lists the networks; moat network create NAME makes one',
  });

const invalid = (message: string, hint?: string) =>
  new RuntimeError('RUNTIME_INVALID_OPTION', message, hint ? { hint } : {});

/** The options a network takes (`-o`), checked. */
export function checkNetworkOptions(options: Record<string, string>): void {
  for (const [k, v] of Object.entries(options)) {
    if (k !== 'allow_host_loopback')
      throw invalid(
        `network option "${k.slice(0, 60)}" is not supported`,
        'the only option is allow_host_loopback=true (containers with outbound access reach the host’s 127.0.0.1)',
      );
    if (v !== 'true' && v !== 'false') throw invalid(`network option ${k}: expected true or false`);
  }
}

export class NetworkStore {
  readonly dir: string;

  constructor(paths: MoatPaths) {
    this.dir = path.join(paths.data, 'networks');
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  /** Every network, oldest first. A damaged record is skipped (it cannot be named). */
  async list(): Promise<NetworkRecord[]> {
    const names = await readdirOrEmpty(this.dir);
    const out: NetworkRecord[] = [];
    for (const n of names) {
      if (!/^[0-9a-f]{64}\.json$/.test(n)) continue;
      const rec = await this.read(n.slice(0, 64));
      if (rec) out.push(rec);
    }
    return out.sort((a, b) => byCodeUnits(a.created, b.created));
  }

  private async read(id: string): Promise<NetworkRecord | undefined> {
    try {
      const fh = await fsp.open(this.file(id), 'r');
      try {
        if ((await fh.stat()).size > MAX_RECORD) return undefined;
        const rec = JSON.parse(await fh.readFile('utf8')) as NetworkRecord;
        return rec && rec.id === id && typeof rec.name === 'string' && parseSubnet(rec.subnet)
          ? rec
          : undefined;
      } finally {
        await fh.close();
      }
    } catch {
      return undefined;
    }
  }

  /** By exact name, else by a unique ID prefix. */
  async find(ref: string): Promise<NetworkRecord | undefined> {
    const all = await this.list();
    const byName = all.find((n) => n.name === ref);
    if (byName) return byName;
    if (!/^[0-9a-f]{1,64}$/.test(ref)) return undefined;
    const byId = all.filter((n) => n.id.startsWith(ref));
    return byId.length === 1 ? byId[0] : undefined;
  }

  async get(ref: string): Promise<NetworkRecord> {
    const n = await this.find(ref);
    if (!n) throw notFound(ref);
    return n;
  }

  /** Make a network (hold networksLock). */
  async create(name: string, o: CreateNetwork = {}): Promise<NetworkRecord> {
    if (!NETWORK_NAME.test(name))
      throw invalid(
        `invalid network name "${name.slice(0, 80)}"`,
        'a network name has letters, digits, _ . - (up to 63, starting with a letter or digit)',
      );
    if (RESERVED.has(name))
      throw invalid(
        `"${name}" is a built-in network mode, not a name a network can take`,
        'choose another name',
      );
    if (o.driver !== undefined && o.driver !== 'bridge')
      throw invalid(
        `network driver "${o.driver.slice(0, 40)}" is not offered`,
        'moat has the bridge driver only (a bridge inside a network namespace you own)',
      );
    checkNetworkOptions(o.options ?? {});
    const all = await this.list();
    if (all.some((n) => n.name === name))
      throw new RuntimeError('RUNTIME_NAME_IN_USE', `a network named "${name}" already exists`, {
        hint: `remove it with moat network rm ${name}, or choose another name`,
      });
    if (all.length >= MAX_NETWORKS)
      throw invalid(`there are ${MAX_NETWORKS} networks already`, 'remove some (moat network prune)');
    const taken = all.map((n) => parseSubnet(n.subnet)!);
    let subnet: Subnet | undefined;
    if (o.subnet !== undefined) {
      subnet = parseSubnet(o.subnet);
      if (!subnet)
        throw invalid(
          `--subnet ${o.subnet.slice(0, 40)}: expected an IPv4 network in CIDR form with a prefix of 16 to 29 and no host bits`,
          'e.g. --subnet 10.90.0.0/24',
        );
      const reserved = reservedOverlap(subnet);
      if (reserved) throw invalid(`--subnet ${o.subnet}: overlaps ${reserved}`);
      const clash = all.find((n) => overlaps(subnet!, parseSubnet(n.subnet)!));
      if (clash) throw invalid(`--subnet ${o.subnet}: overlaps network ${clash.name} (${clash.subnet})`);
    } else {
      subnet = nextSubnet(taken);
      if (!subnet) throw invalid('no free subnet left in 10.89.0.0/16', 'give one with --subnet');
    }
    const rec: NetworkRecord = {
      id: randomBytes(32).toString('hex'),
      name,
      created: new Date().toISOString(),
      driver: 'bridge',
      subnet: subnetText(subnet),
      gateway: gatewayOf(subnet),
      internal: Boolean(o.internal),
      labels: o.labels ?? {},
      options: o.options ?? {},
      endpoints: {},
    };
    await this.save(rec);
    return rec;
  }

  async save(rec: NetworkRecord): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeJsonAtomic(this.file(rec.id), rec);
  }

  async remove(id: string): Promise<void> {
    await fsp.rm(this.file(id), { force: true });
  }
}
