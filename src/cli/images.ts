import { Command, Option } from 'commander';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { ImageRecord } from '../image/types.js';
import type { ImagePruneResult } from '../runtime/images.js';
import { pruneBody } from '../api/schemas.js';
import { request } from './app.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { ago, humanSize, json, recordKinds, splitName, table } from './output.js';
import { forEachArg } from './report.js';
import { IMAGE_FIELDS, isTemplateFormat } from './format/fields.js';
import { inspectImages } from './inspect.js';
import { chooseImages, IMAGE_FILTER_KEYS } from './list-filters.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const progress = (msg: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg}`);
  else process.stderr.write(`${msg}\n`);
};
const doneProgress = () => {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
};

/**
 * A path for the request (absolute: the router may run elsewhere), or `-` for stdin, which must
 * not be a terminal: a tar typed at the keyboard is never what was meant.
 */
function archivePath(file: string, usage: string): string {
  if (file !== '-') return path.resolve(file);
  if (process.stdin.isTTY) {
    throw new UsageError('the archive would be read from stdin, which is a terminal', {
      hint: usage,
    });
  }
  return file;
}

/** stdin for the request only when it is to be read: touching process.stdin opens it. */
function stdinIf(file: string): { stdin?: Readable } {
  return file === '-' ? { stdin: process.stdin } : {};
}

const IMAGE_FORMAT_HINT = `--format takes table, json or a Go template (e.g. '{{.Repository}}:{{.Tag}}', 'table {{.ID}}\\t{{.Repository}}'); the fields: ${IMAGE_FIELDS.map((x) => `.${x}`).join(' ')}`;

function listImages(imgs: ImageRecord[], f: { format: string; quiet?: boolean; trunc: boolean }): string {
  if (f.format === 'json') {
    return json(
      imgs.map((i) => ({
        Id: i.id,
        RepoTags: i.names,
        ManifestDigest: i.manifestDigest,
        Created: i.created,
        Size: i.size,
        Layers: i.layers.length,
      })),
    );
  }
  const id = (i: ImageRecord) => (f.trunc ? i.id.slice(7, 19) : i.id);
  if (f.quiet) return imgs.map((i) => id(i) + '\n').join('');
  const rows: string[][] = [];
  for (const i of imgs) {
    const names = i.names.length ? i.names : ['<none>:<none>'];
    for (const n of names) {
      const [repo, tag] = splitName(n);
      rows.push([repo, tag, id(i), ago(i.created), humanSize(i.size)]);
    }
  }
  return table(rows, ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']);
}

export function registerImageCommands(program: Command, state: CliState): void {
  const ls = (cmd: Command) =>
    cmd
      .option('-q, --quiet', 'only IDs')
      .option(
        '-f, --filter <key=value>',
        `choose images by ${IMAGE_FILTER_KEYS.join(', ')} (repeatable)`,
        collect,
        [],
      )
      .option('--no-trunc', 'full IDs')
      .option(
        '--format <format>',
        "table, json, or a Go template: '{{.Repository}}:{{.Tag}}', 'table {{.ID}}\\t{{.Size}}'",
        'table',
      )
      .addHelpText('after', `\nTemplate fields: ${IMAGE_FIELDS.map((x) => `.${x}`).join(' ')}`)
      .action(async (f: { format: string; quiet?: boolean; trunc: boolean; filter: string[] }) => {
        state.json = f.format === 'json';
        // the template engine is loaded only for a template, and the template parsed before any request
        const tmpl = isTemplateFormat(f.format) ? await import('./format/index.js') : undefined;
        const fmt = tmpl?.listFormat(f.format, IMAGE_FORMAT_HINT);
        const all = await request<ImageRecord[]>('GET', '/images');
        const imgs = f.filter.length ? await chooseImages(f.filter, all) : all;
        if (fmt?.kind === 'template') {
          const { IMAGE_HEADER, imageRows } = await import('./format/contexts.js');
          const rows = imgs.flatMap((i) => imageRows(i, { trunc: f.trunc }));
          process.stdout.write(tmpl!.renderList(fmt, rows, IMAGE_HEADER, IMAGE_FORMAT_HINT));
        } else process.stdout.write(listImages(imgs, f));
      });
  ls(program.command('images').description('list images'));

  const rmi = (cmd: Command) =>
    cmd
      .argument('<image...>')
      .option('-f, --force', 'remove even if containers use it')
      .action(async (refs: string[], f: { force?: boolean }) => {
        // Every image is tried, as docker does; failures are printed and make the exit status.
        await forEachArg(refs, state, async (r) => {
          const res = await request<{ untagged?: string[]; deleted?: string[] }>(
            'DELETE',
            `/images/${encodeURIComponent(r)}`,
            { force: Boolean(f.force) },
          );
          for (const u of res.untagged ?? []) process.stdout.write(`Untagged: ${u}\n`);
          for (const d of res.deleted ?? []) process.stdout.write(`Deleted: ${d}\n`);
        });
      });
  rmi(program.command('rmi').description('remove images (untag; delete when no name is left)'));

  const load = (cmd: Command) =>
    cmd
      .option('-i, --input <file>', 'an OCI image layout tar or a `docker save` tar (default: stdin)')
      .action(async (f: { input?: string }) => {
        const file = archivePath(f.input ?? '-', 'moat load -i FILE, or moat load < FILE');
        const res = await request<{ loaded: { id: string; names: string[] }[] }>(
          'POST',
          '/images/load',
          { file },
          { ...stdinIf(file), stdout: process.stdout, stderr: process.stderr, progress },
        );
        doneProgress();
        // What this archive named, as docker reports it (not every name the image has here).
        for (const i of res.loaded) {
          if (!i.names.length) process.stdout.write(`Loaded image ID: ${i.id}\n`);
          for (const n of i.names) process.stdout.write(`Loaded image: ${n}\n`);
        }
      });
  load(program.command('load').description('load images from an OCI layout tar or a docker-save tar'));

  const imp = (cmd: Command) =>
    cmd
      .argument('<file>', 'a root filesystem tar (plain or gzip); - reads it from stdin')
      .argument('<name>', 'name for the new image, e.g. myimage:1.0')
      .option(
        '-c, --change <instruction>',
        'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME (repeatable)',
        collect,
        [],
      )
      .action(async (input: string, name: string, f: { change: string[] }) => {
        const file = archivePath(input, 'moat import FILE NAME, or moat import - NAME < FILE');
        const rec = await request<ImageRecord>(
          'POST',
          '/images/import',
          { file, name, changes: f.change },
          { ...stdinIf(file), stdout: process.stdout, stderr: process.stderr, progress },
        );
        doneProgress();
        process.stdout.write(`${rec.id}\n`);
      });
  imp(program.command('import').description('make a single-layer image from a root filesystem tar'));

  const inspect = (cmd: Command) =>
    cmd
      .argument('<image...>')
      .option('-f, --format <template>', "a Go template over the JSON, e.g. '{{.Id}} {{.Os}}'")
      .action(async (refs: string[], f: { format?: string }) => inspectImages(refs, f));

  const tag = (cmd: Command) =>
    cmd
      .argument('<source>')
      .argument('<target>')
      .action(async (src: string, target: string) => {
        await request('POST', `/images/${encodeURIComponent(src)}/tag`, { target });
      });
  tag(program.command('tag').description('give an image another name'));

  const image = program.command('image').description('manage images');
  ls(image.command('ls').alias('list').description('list images'));
  rmi(image.command('rm').description('remove images'));
  inspect(
    image.command('inspect').description("show images in detail (JSON: moat's record and docker's shape)"),
  );
  load(image.command('load').description('load images from an archive'));
  imp(image.command('import').description('make an image from a rootfs tar'));
  tag(image.command('tag').description('give an image another name'));
  image
    .command('prune')
    .description(
      'remove dangling images (-a: every image) no container uses, unreferenced blobs, leftovers of interrupted writes, unpacked roots of removed images',
    )
    .option('-a, --all', 'remove every image no container uses, not only dangling ones')
    .option('-f, --force', 'do not ask (moat never asks; accepted as docker takes it)')
    .option(
      '--min-age <seconds>',
      'unreferenced blobs and temp files only when older than this (protects pulls in progress)',
      (v) => Number(v),
      pruneBody.properties.minAgeSeconds.default,
    )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (f: { minAge: number; format: string; all?: boolean }) => {
      state.json = f.format === 'json';
      const res = await request<ImagePruneResult>('POST', '/images/prune', {
        minAgeSeconds: f.minAge,
        all: Boolean(f.all),
      });
      process.stdout.write(state.json ? json(res) : pruneText(res));
    });
}

/** docker image prune's report, then what else was cleaned. */
function pruneText(res: ImagePruneResult): string {
  let out = '';
  if (res.untagged.length || res.deleted.length) {
    out += 'Deleted Images:\n';
    for (const u of res.untagged) out += `untagged: ${u}\n`;
    for (const d of res.deleted) out += `deleted: ${d}\n`;
    out += '\n';
  }
  out += `Total reclaimed space: ${humanSize(res.freedBytes)}\n`;
  out += `(${res.removedBlobs.length} blob(s), ${res.removedTemp.length} temp file(s), ${res.removedRoots.length} unpacked root(s)${res.removedRecords.length ? `, ${recordKinds(Object.values(res.removedRecordKinds).flat())} records of ${res.removedRecords.length} removed image(s)` : ''} removed)\n`;
  return out;
}
