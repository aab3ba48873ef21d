/**
 * docker's list formats in moat: `table`/`json`/template choice, the `table` prefix with its
 * header row and Go tabwriter columns (minwidth 10, padding 3), `\t`/`\n` escapes, and the rows
 * of ps and images (docker's field names and wordings). Template errors are CLI_USAGE.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/cli/errors.js';
import {
  CONTAINER_HEADER,
  containerRow,
  dockerSize,
  ellipsis,
  goTime,
  IMAGE_HEADER,
  imageRows,
} from '../../../../src/cli/format/contexts.js';
import { inspectFormat, listFormat, renderList, renderOne } from '../../../../src/cli/format/index.js';
import { tabwrite } from '../../../../src/cli/format/tabwriter.js';
import { render } from '../../../../src/cli/format/template.js';
import type { ImageRecord } from '../../../../src/image/types.js';
import { defaultRunOptions } from '../../../../src/runtime/options.js';
import type { ContainerRecord } from '../../../../src/runtime/state.js';

const now = Date.parse('2026-01-01T01:00:00Z');
const rec = (more: Partial<ContainerRecord> = {}): ContainerRecord => ({
  id: 'a'.repeat(12) + 'b'.repeat(52),
  name: 'web',
  image: 'moat/busybox',
  imageId: 'sha256:' + 'c'.repeat(64),
  created: '2026-01-01T00:00:00Z',
  status: 'exited',
  exitCode: 3,
  finishedAt: '2026-01-01T00:55:00Z',
  command: ['sh', '-c', 'while :; do sleep 1; done'],
  options: {
    ...defaultRunOptions('moat/busybox'),
    labels: { tier: 'front', app: 'web' },
    volumes: [{ host: '/home/someone/data/dir', container: '/data', readonly: false }],
  },
  limits: {},
  cgroups: {},
  idmapMode: 'subordinate',
  warnings: [],
  lowerdir: '/x',
  ...more,
});

function usage(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('tabwriter', () => {
  it('pads columns to the widest cell plus 3, at least 10; the last cell is not padded', () => {
    expect(tabwrite('CONTAINER ID\tNAMES\nabc123def456\tweb\n')).toBe(
      'CONTAINER ID   NAMES\nabc123def456   web\n',
    );
    expect(tabwrite('A\tB\nx\ty\n')).toBe('A         B\nx         y\n');
    expect(tabwrite('a\t\n')).toBe('a         \n');
    expect(tabwrite('é\tx\nab\ty')).toBe('é         x\nab        y');
  });

  it('a line without the column ends its block, as Go does', () => {
    expect(tabwrite('aaaaaaaaaaaa\tb\nc\nd\te\n')).toBe('aaaaaaaaaaaa   b\nc\nd         e\n');
    expect(tabwrite('a\tbbbbbbbbbbbbbbb\tc\nd\te\tf\n')).toBe(
      'a         bbbbbbbbbbbbbbb   c\nd         e                 f\n',
    );
    expect(tabwrite('')).toBe('');
  });
});

describe('listFormat', () => {
  it('table and json are moat’s outputs; anything else is a template', () => {
    expect(listFormat('table', '').kind).toBe('table');
    expect(listFormat('table  ', '').kind).toBe('table');
    expect(listFormat('json', '').kind).toBe('json');
    expect(listFormat('', '').kind).toBe('table'); // docker: no format is the default table
    const t = listFormat('table {{.ID}}\\t{{.Names}}', '');
    expect(t.kind === 'template' && t.table).toBe(true);
    const p = listFormat('  {{.ID}}\\n{{.Names}} ', '');
    expect(p.kind === 'template' && !p.table && p.template.source).toBe('{{.ID}}\n{{.Names}}');
  });

  it('a template that does not parse is CLI_USAGE with Go’s message and the hint given', () => {
    const e = usage(() => listFormat('{{.ID', 'the hint'));
    expect(e.code).toBe('CLI_USAGE');
    expect(e.message).toBe('template: :1: unclosed action');
    expect(e.hint).toBe('the hint');
    expect(usage(() => listFormat('{{nope}}', '')).message).toBe('template: :1: function "nope" not defined');
  });

  it('a format without any {{action}} is refused (docker would print it once per row)', () => {
    expect(usage(() => listFormat('yaml', 'h')).message).toBe(
      'unknown format "yaml": not table, json or a template',
    );
    expect(usage(() => listFormat('table x\\ty', 'h')).code).toBe('CLI_USAGE');
    expect(usage(() => inspectFormat('yaml', 'h')).code).toBe('CLI_USAGE');
    expect(listFormat('x {{/* c */}}{{.ID}}', '').kind).toBe('template');
  });
});

describe('ps rows', () => {
  const row = containerRow(rec(), { trunc: true, now });
  const r = (src: string) => render(src, row);

  it('docker’s fields', () => {
    expect(r('{{.ID}}|{{.Names}}|{{.Image}}|{{.State}}|{{.Status}}')).toBe(
      'aaaaaaaaaaaa|web|moat/busybox|exited|Exited (3) 5 minutes ago',
    );
    expect(r('{{.Command}}')).toBe('"sh -c \'while :; do …"'); // docker's: arguments with a space quoted
    expect(r('{{.Labels}}|{{.Label "tier"}}|{{.Label "nope"}}')).toBe('app=web,tier=front|front|');
    expect(r('{{.Mounts}}|{{.Networks}}|{{.Ports}}|{{.Size}}|{{.LocalVolumes}}')).toBe(
      '/home/someone/…|none||0B|0',
    );
    expect(r('{{.RunningFor}}')).toBe('About an hour ago');
    expect(r('{{.CreatedAt}}')).toMatch(/^2026-01-01 \d\d:00:00 [+-]\d{4} \S+$/);
  });

  it('--no-trunc: full ID, command and mounts', () => {
    const full = containerRow(rec(), { trunc: false, now });
    expect(render('{{.ID}} {{.Command}} {{.Mounts}}', full)).toBe(
      `${'a'.repeat(12)}${'b'.repeat(52)} "sh -c 'while :; do sleep 1; done'" /home/someone/data/dir`,
    );
  });

  it('{{json .}} has every field but the method, in docker’s order', () => {
    expect(Object.keys(JSON.parse(r('{{json .}}')) as object)).toEqual([
      'Command',
      'CreatedAt',
      'ID',
      'Image',
      'Labels',
      'LocalVolumes',
      'Mounts',
      'Names',
      'Networks',
      'Ports',
      'RunningFor',
      'Size',
      'State',
      'Status',
    ]);
  });

  it('a table: header row of docker’s titles, aligned columns', () => {
    const f = listFormat('table {{.ID}}\\t{{.Names}}\\t{{.Label "app"}}', '');
    if (f.kind !== 'template') throw new Error('not a template');
    const rows = [row, containerRow(rec({ name: 'a-much-longer-name' }), { trunc: true, now })];
    expect(renderList(f, rows, CONTAINER_HEADER, '')).toBe(
      'CONTAINER ID   NAMES                LABEL\n' +
        'aaaaaaaaaaaa   web                  web\n' +
        'aaaaaaaaaaaa   a-much-longer-name   web\n',
    );
    expect(renderList(f, [], CONTAINER_HEADER, '')).toBe('CONTAINER ID   NAMES     LABEL\n');
  });

  it('without table: one line per row, no header', () => {
    const f = listFormat('{{.Names}}: {{.Status}}', '');
    if (f.kind !== 'template') throw new Error('not a template');
    expect(renderList(f, [row, row], CONTAINER_HEADER, '')).toBe(
      'web: Exited (3) 5 minutes ago\nweb: Exited (3) 5 minutes ago\n',
    );
    expect(renderList(f, [], CONTAINER_HEADER, '')).toBe('');
  });

  it('a field docker does not have is CLI_USAGE with Go’s message', () => {
    const f = listFormat('{{.Nope}}', '');
    if (f.kind !== 'template') throw new Error('not a template');
    const e = usage(() => renderList(f, [row], CONTAINER_HEADER, 'h'));
    expect(e.message).toBe(
      'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext',
    );
  });
});

describe('images rows', () => {
  const img: ImageRecord = {
    id: 'sha256:' + '0123456789ab'.repeat(5) + 'cdef',
    manifestDigest: 'sha256:' + 'd'.repeat(64),
    names: ['docker.io/library/busybox:1.36', 'localhost:5000/tools/bb:latest'],
    repoDigests: ['docker.io/library/busybox@sha256:' + 'e'.repeat(64)],
    created: '2025-12-31T01:00:00Z',
    layers: [],
    size: 2_150_000,
  };

  it('one row per name, docker’s fields', () => {
    const rows = imageRows(img, { trunc: true, now });
    const f = listFormat('{{.Repository}}:{{.Tag}} {{.ID}} {{.Digest}} {{.Size}} {{.CreatedSince}}', '');
    if (f.kind !== 'template') throw new Error('not a template');
    expect(renderList(f, rows, IMAGE_HEADER, '')).toBe(
      `docker.io/library/busybox:1.36 0123456789ab sha256:${'e'.repeat(64)} 2.15MB 24 hours ago\n` +
        'localhost:5000/tools/bb:latest 0123456789ab <none> 2.15MB 24 hours ago\n',
    );
    expect(render('{{.ID}}', imageRows(img, { trunc: false })[0])).toBe(img.id);
  });

  it('a dangling image is <none> <none>; a table has docker’s titles', () => {
    const rows = imageRows({ ...img, names: [], repoDigests: [] }, { trunc: true, now });
    const f = listFormat('table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.Size}}', '');
    if (f.kind !== 'template') throw new Error('not a template');
    expect(renderList(f, rows, IMAGE_HEADER, '')).toBe(
      'REPOSITORY   TAG       IMAGE ID       SIZE\n<none>       <none>    0123456789ab   2.15MB\n',
    );
  });
});

describe('inspect formats', () => {
  it('no format and json are the JSON output; a template runs over the object', () => {
    expect(inspectFormat(undefined, '')).toBeUndefined();
    expect(inspectFormat('json', '')).toBeUndefined();
    const t = inspectFormat('{{.State.Status}} {{.State.ExitCode}}', '')!;
    expect(renderOne(t, { State: { Status: 'exited', ExitCode: 3 } }, '')).toBe('exited 3\n');
    // docker's inspect takes the format as written: no \t escapes
    expect(renderOne(inspectFormat('a\\t{{.A}}', '')!, { A: 1 }, '')).toBe('a\\t1\n');
    expect(usage(() => renderOne(inspectFormat('{{.A.B}}', '')!, { A: 'x' }, '')).message).toMatch(
      /can't evaluate field B in type string/,
    );
  });
});

describe('helpers', () => {
  it('dockerSize is go-units with 3 digits', () => {
    expect([0, 999, 1000, 7_800_000, 101_234_567, 1_234_567_890].map(dockerSize)).toEqual([
      '0B',
      '999B',
      '1kB',
      '7.8MB',
      '101MB',
      '1.23GB',
    ]);
  });

  it('ellipsis and goTime', () => {
    expect(ellipsis('abcdef', 4)).toBe('abc…');
    expect(ellipsis('abc', 4)).toBe('abc');
    expect(goTime('2026-03-04T05:06:07.9Z')).toMatch(/^2026-03-0\d \d\d:\d\d:07 [+-]\d{4} \S+$/);
  });
});
