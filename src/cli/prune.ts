/**
 * `moat container prune`, `moat system df` and `moat system prune`, as docker prints them:
 * prune asks first unless -f (as docker does; a closed or empty stdin is a no), df's table is
 * docker's (TYPE TOTAL ACTIVE SIZE RECLAIMABLE, -v for the images and containers themselves),
 * sizes in go-units' HumanSize.
 */
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import { parseFilterFlags, parseTimestamp } from '../api/docker/filters.js';
import type { ContainerUsage, DiskUsage, ImageUsage } from '../runtime/disk-usage.js';
import type { ImagePruneResult } from '../runtime/images.js';
import type { ContainerPruneResult } from '../runtime/prune.js';
import type { VolumePruneResult } from '../runtime/volumes/remove.js';
import { humanSize3, humanSize4 } from '../util/go-units.js';
import { ago } from '../util/format.js';
import { pruneBody } from '../api/schemas.js';
import { request } from './app.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { json, splitName } from './output.js';
import { tabTable } from './stats-columns.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** docker's confirmation: the question on stderr, yes only for y or yes on stdin. */
export async function confirm(warning: string): Promise<boolean> {
  process.stderr.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const rl = createInterface({ input: process.stdin });
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

/** `--filter until=…`, `label=…`, `label!=…` as container.prune's body. */
export function pruneFilterBody(flags: readonly string[]): Record<string, unknown> {
  const f = parseFilterFlags(flags);
  const body: Record<string, unknown> = {};
  for (const key of f.keys())
    if (!['until', 'label', 'label!'].includes(key))
      throw new UsageError(`invalid filter '${key}'`, {
        hint: 'container prune takes until=, label= and label!=',
      });
  for (const v of f.get('until') ?? []) {
    const t = parseTimestamp(v);
    if (t === undefined)
      throw new UsageError(`invalid until filter "${v}"`, {
        hint: 'a duration before now (24h, 90m), Unix seconds, or an RFC 3339 date',
      });
    body.until = Math.min((body.until as number | undefined) ?? Infinity, t / 1000);
  }
  if (f.get('label')?.length) body.label = f.get('label');
  if (f.get('label!')?.length) body.labelNot = f.get('label!');
  return body;
}

/** `--filter label=…`, `label!=…` (volume prune's filters) as its body. */
export function pruneLabelBody(flags: readonly string[]): { label?: string[]; labelNot?: string[] } {
  const f = parseFilterFlags(flags);
  for (const key of f.keys())
    if (key !== 'label' && key !== 'label!')
      throw new UsageError(`invalid filter '${key}'`, { hint: 'volume prune takes label= and label!=' });
  return {
    ...(f.get('label')?.length ? { label: f.get('label') } : {}),
    ...(f.get('label!')?.length ? { labelNot: f.get('label!') } : {}),
  };
}

function deletedContainers(r: ContainerPruneResult): string {
  return r.deleted.length ? `Deleted Containers:\n${r.deleted.map((id) => `${id}\n`).join('')}\n` : '';
}

export function containerPruneCommand(cmd: Command, state: CliState): Command {
  return cmd
    .description('remove every stopped container (exited, or created and never started)')
    .option('-f, --force', 'do not ask')
    .option(
      '--filter <key=value>',
      'until=24h (created before), label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable)',
      collect,
      [],
    )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (f: { force?: boolean; filter: string[]; format: string }) => {
      state.json = f.format === 'json';
      const body = pruneFilterBody(f.filter);
      if (!f.force && !(await confirm('WARNING! This will remove all stopped containers.'))) return;
      const r = await request<ContainerPruneResult>('POST', '/containers/prune', body);
      process.stdout.write(
        state.json ? json(r) : `${deletedContainers(r)}Total reclaimed space: ${humanSize4(r.reclaimed)}\n`,
      );
    });
}

export function systemPruneCommand(cmd: Command, state: CliState): Command {
  return cmd
    .description(
      "remove stopped containers, networks no container is on and dangling images (-a: every image no container uses), with image prune's cleaning of the store",
    )
    .option('-a, --all', 'every image no container uses, not only dangling ones')
    .option('-f, --force', 'do not ask')
    .option('--volumes', 'anonymous volumes no container mounts too (volume prune)')
    .option('--filter <key=value>', 'until=, label=, label!= for the containers (repeatable)', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(
      async (f: { all?: boolean; force?: boolean; volumes?: boolean; filter: string[]; format: string }) => {
        state.json = f.format === 'json';
        const body = pruneFilterBody(f.filter);
        const warning = [
          'WARNING! This will remove:',
          '  - all stopped containers',
          ...(body.until === undefined ? ['  - all networks not used by at least one container'] : []),
          f.all
            ? '  - all images without at least one container associated to them'
            : '  - all dangling images',
          ...(f.volumes ? ['  - all anonymous volumes not used by at least one container'] : []),
          "  - moat's unreferenced blobs, leftovers of interrupted writes and unpacked roots of removed images",
          '',
        ].join('\n');
        if (!f.force && !(await confirm(warning))) return;
        const containers = await request<ContainerPruneResult>('POST', '/containers/prune', body);
        // Networks as docker's system prune removes them, with the label filters; an until=
        // filter leaves them (a network's age is not a filter moat's network prune takes).
        const networks =
          body.until === undefined
            ? await request<{ removed: string[] }>('POST', '/networks/prune', {
                ...(body.label ? { label: body.label } : {}),
                ...(body.labelNot ? { labelNot: body.labelNot } : {}),
              })
            : { removed: [] };
        const images = await request<ImagePruneResult>('POST', '/images/prune', {
          minAgeSeconds: pruneBody.properties.minAgeSeconds.default,
          all: Boolean(f.all),
        });
        const volumes = f.volumes
          ? await request<VolumePruneResult>('POST', '/volumes/prune', {})
          : { deleted: [], reclaimed: 0 };
        if (state.json) {
          process.stdout.write(json({ containers, networks, images, ...(f.volumes ? { volumes } : {}) }));
          return;
        }
        let out = deletedContainers(containers);
        if (networks.removed.length)
          out += `Deleted Networks:\n${networks.removed.map((n) => `${n}\n`).join('')}\n`;
        if (volumes.deleted.length)
          out += `Deleted Volumes:\n${volumes.deleted.map((n) => `${n}\n`).join('')}\n`;
        if (images.untagged.length || images.deleted.length)
          out += `Deleted Images:\n${images.untagged.map((u) => `untagged: ${u}\n`).join('')}${images.deleted.map((d) => `deleted: ${d}\n`).join('')}\n`;
        out += `Total reclaimed space: ${humanSize4(containers.reclaimed + images.freedBytes + volumes.reclaimed)}\n`;
        process.stdout.write(out);
      },
    );
}

/** docker system df's summary rows, computed as the docker CLI computes them. */
export function dfSummary(d: DiskUsage): string[][] {
  const pctOf = (part: number, total: number) =>
    total > 0 ? `${humanSize4(part)} (${Math.floor((part * 100) / total)}%)` : humanSize4(part);
  const activeImages = d.images.filter((i) => i.containers > 0);
  const used = activeImages.reduce((a, i) => a + i.size - i.sharedSize, 0);
  const running = (c: ContainerUsage) => ['running', 'paused', 'restarting'].includes(c.state);
  const ctrSize = d.containers.reduce((a, c) => a + c.sizeRw, 0);
  const ctrReclaim = d.containers.filter((c) => !running(c)).reduce((a, c) => a + c.sizeRw, 0);
  const vols = d.volumes ?? [];
  const volSize = vols.reduce((a, v) => a + v.size, 0);
  const volReclaim = vols.filter((v) => v.refCount === 0).reduce((a, v) => a + v.size, 0);
  return [
    ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
    [
      'Images',
      String(d.images.length),
      String(activeImages.length),
      humanSize4(d.layersSize),
      pctOf(d.layersSize - used, d.layersSize),
    ],
    [
      'Containers',
      String(d.containers.length),
      String(d.containers.filter(running).length),
      humanSize4(ctrSize),
      pctOf(ctrReclaim, ctrSize),
    ],
    [
      'Local Volumes',
      String(vols.length),
      String(vols.filter((v) => v.refCount > 0).length),
      humanSize4(volSize),
      pctOf(volReclaim, volSize),
    ],
    ['Build Cache', '0', '0', '0B', '0B'],
  ];
}

/** docker system df -v's sections. */
export function dfVerbose(d: DiskUsage, now = Date.now()): string {
  const imageRows = d.images.flatMap((i: ImageUsage) => {
    const names = i.names.length ? i.names.map(splitName) : [['<none>', '<none>']];
    return names.map(([repo, tag]) => [
      repo,
      tag,
      i.id.replace(/^sha256:/, '').slice(0, 12),
      ago(i.created, now),
      humanSize3(i.size),
      humanSize3(i.sharedSize),
      humanSize3(i.size - i.sharedSize),
      String(i.containers),
    ]);
  });
  const containerRows = d.containers.map((c) => {
    const cmd = JSON.stringify(c.command.join(' ').slice(0, 20));
    return [
      c.id.slice(0, 12),
      c.image,
      cmd,
      '0',
      humanSize3(c.sizeRw),
      ago(c.created, now),
      c.status,
      c.name,
    ];
  });
  return (
    'Images space usage:\n\n' +
    tabTable([
      ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'],
      ...imageRows,
    ]) +
    '\nContainers space usage:\n\n' +
    tabTable([
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'],
      ...containerRows,
    ]) +
    '\nLocal Volumes space usage:\n\n' +
    tabTable([
      ['VOLUME NAME', 'LINKS', 'SIZE'],
      ...(d.volumes ?? []).map((v) => [v.name, String(v.refCount), humanSize3(v.size)]),
    ]) +
    '\nBuild cache usage: 0B\n\n' +
    tabTable([['CACHE ID', 'CACHE TYPE', 'SIZE', 'CREATED', 'LAST USED', 'USAGE', 'SHARED']])
  );
}

export function systemDfCommand(cmd: Command, state: CliState): Command {
  return cmd
    .description(
      'disk usage as docker shows it: images (their stored layers), containers (their writable layers), volumes; moat has no build cache',
    )
    .option('-v, --verbose', 'each image and container')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (f: { verbose?: boolean; format: string }) => {
      state.json = f.format === 'json';
      const d = await request<DiskUsage>('GET', '/system/df');
      if (state.json) process.stdout.write(json(d));
      else process.stdout.write(f.verbose ? dfVerbose(d) : tabTable(dfSummary(d)));
    });
}
