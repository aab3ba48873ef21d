/**
 * What a `--format` template sees for each row of `moat ps` and `moat images`: docker's
 * formatter contexts (cli/command/formatter: ContainerContext, imageContext), with docker's
 * field names and wordings, and the headers a `table` format prints. Rows are structs: a name
 * docker does not have is an error, as it is for docker.
 */
import type { ImageRecord } from '../../image/types.js';
import type { ContainerRecord } from '../../runtime/state.js';
import { humanStatus } from '../../runtime/status.js';
import { ago } from '../../util/format.js';
import { splitName } from '../output.js';
import { formatFloat, goQuote, goStruct, type GoStruct } from './values.js';

/** docker's Ellipsis: at most `max` characters, the last one `…` when cut. */
export function ellipsis(s: string, max: number): string {
  const r = [...s];
  if (r.length <= max) return s;
  return max <= 1 ? '…'.slice(0, max) : r.slice(0, max - 1).join('') + '…';
}

/** go-units HumanSizeWithPrecision(n, 3): 0B, 7.8MB, 101MB, 1.23GB. */
export function dockerSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return formatFloat(v, 'g', 3) + units[i];
}

/** Go's time.Time.String() of a time to the second: `2024-05-01 10:11:12 +0200 CEST`. */
export function goTime(iso: string | undefined): string {
  const t = Date.parse(iso ?? '');
  const d = new Date(Number.isFinite(t) ? Math.floor(t / 1000) * 1000 : 0);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const oh = p(Math.floor(Math.abs(off) / 60));
  const om = p(Math.abs(off) % 60);
  let zone =
    new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
      .formatToParts(d)
      .find((x) => x.type === 'timeZoneName')?.value ?? '';
  // A zone with no abbreviation: Go writes the offset (+02, +0530)
  if (!/^[A-Z]{2,5}$/.test(zone) || (zone === 'GMT' && off !== 0))
    zone = `${sign}${oh}${om === '00' ? '' : om}`;
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${sign}${oh}${om} ${zone}`
  );
}

export interface RowOptions {
  /** false with --no-trunc: full IDs and commands. */
  trunc: boolean;
  now?: number;
}

/** docker's ContainerContext for one container (keys sorted, as `{{json .}}` prints them). */
export function containerRow(c: ContainerRecord, o: RowOptions): GoStruct {
  const labels = c.options.labels ?? {};
  // docker's daemon writes the command as the path and the arguments, those with a space quoted
  const command = c.command.map((a, i) => (i > 0 && a.includes(' ') ? `'${a}'` : a)).join(' ');
  return goStruct('*formatter.ContainerContext', {
    Command: goQuote(o.trunc ? ellipsis(command, 20) : command),
    CreatedAt: goTime(c.created),
    ID: o.trunc ? c.id.slice(0, 12) : c.id,
    Image: c.image || '<no image>',
    Label: (name: unknown) => (typeof name === 'string' && Object.hasOwn(labels, name) ? labels[name] : ''),
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    LocalVolumes: '0',
    Mounts: c.options.volumes.map((v) => (o.trunc ? ellipsis(v.host, 15) : v.host)).join(','),
    Names: c.name,
    Networks: 'none',
    Ports: '',
    RunningFor: ago(c.created, o.now),
    Size: dockerSize(0),
    State: c.status,
    Status: humanStatus(c, o.now),
  });
}

/** The header row of `moat ps --format 'table ...'` (docker's column titles). */
export const CONTAINER_HEADER: GoStruct = goStruct('*formatter.ContainerContext', {
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Label: (_name: unknown) => 'LABEL',
  Labels: 'LABELS',
  LocalVolumes: 'LOCAL VOLUMES',
  Mounts: 'MOUNTS',
  Names: 'NAMES',
  Networks: 'NETWORKS',
  Ports: 'PORTS',
  RunningFor: 'CREATED',
  Size: 'SIZE',
  State: 'STATE',
  Status: 'STATUS',
});

/** docker's imageContext: one row per name (`<none>` `<none>` for an image without one). */
export function imageRows(i: ImageRecord, o: RowOptions): GoStruct[] {
  const names = i.names.length ? i.names : ['<none>:<none>'];
  return names.map((n) => {
    const [repo, tag] = n === '<none>:<none>' ? ['<none>', '<none>'] : splitName(n);
    // the digest this repository was pulled by, if it was
    const rd =
      (i.repoDigests ?? []).find((d) => d.startsWith(`${repo}@`)) ??
      (repo === '<none>' ? i.repoDigests?.[0] : undefined);
    const size = dockerSize(i.size);
    return goStruct('*formatter.imageContext', {
      Containers: 'N/A',
      CreatedAt: goTime(i.created),
      CreatedSince: ago(i.created, o.now),
      Digest: rd ? rd.slice(rd.indexOf('@') + 1) : '<none>',
      ID: o.trunc ? i.id.replace(/^sha256:/, '').slice(0, 12) : i.id,
      Repository: repo,
      SharedSize: 'N/A',
      Size: size,
      Tag: tag,
      UniqueSize: 'N/A',
      VirtualSize: size,
    });
  });
}

export const IMAGE_HEADER: GoStruct = goStruct('*formatter.imageContext', {
  Containers: 'CONTAINERS',
  CreatedAt: 'CREATED AT',
  CreatedSince: 'CREATED',
  Digest: 'DIGEST',
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  SharedSize: 'SHARED SIZE',
  Size: 'SIZE',
  Tag: 'TAG',
  UniqueSize: 'UNIQUE SIZE',
  VirtualSize: 'VIRTUAL SIZE',
});
