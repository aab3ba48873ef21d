import { Command, Option } from 'commander';
import * as path from 'node:path';
import type { ImageRecord } from '../image/types.js';
import { request } from './app.js';
import type { CliState } from './index.js';
import { ago, humanSize, json, table } from './output.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const progress = (msg: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg}`);
  else process.stderr.write(`${msg}\n`);
};
const doneProgress = () => {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
};

function splitName(n: string): [string, string] {
  const at = n.lastIndexOf(':');
  const slash = n.lastIndexOf('/');
  return at > slash ? [n.slice(0, at), n.slice(at + 1)] : [n, '<none>'];
}

function listImages(imgs: ImageRecord[], f: { format: string; quiet?: boolean }): string {
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
  if (f.quiet) return imgs.map((i) => i.id.slice(7, 19) + '\n').join('');
  const rows: string[][] = [];
  for (const i of imgs) {
    const names = i.names.length ? i.names : ['<none>:<none>'];
    for (const n of names) {
      const [repo, tag] = splitName(n);
      rows.push([repo, tag, i.id.slice(7, 19), ago(i.created), humanSize(i.size)]);
    }
  }
  return table(rows, ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']);
}

export function registerImageCommands(program: Command, state: CliState): void {
  const ls = (cmd: Command) =>
    cmd
      .option('-q, --quiet', 'only IDs')
      .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
      .action(async (f: { format: string; quiet?: boolean }) => {
        state.json = f.format === 'json';
        process.stdout.write(listImages(await request<ImageRecord[]>('GET', '/images'), f));
      });
  ls(program.command('images').description('list images'));

  const rmi = (cmd: Command) =>
    cmd
      .argument('<image...>')
      .option('-f, --force', 'remove even if containers use it')
      .action(async (refs: string[], f: { force?: boolean }) => {
        for (const r of refs) {
          const res = await request<{ untagged?: string[]; deleted?: string[] }>(
            'DELETE',
            `/images/${encodeURIComponent(r)}`,
            { force: Boolean(f.force) },
          );
          for (const u of res.untagged ?? []) process.stdout.write(`Untagged: ${u}\n`);
          for (const d of res.deleted ?? []) process.stdout.write(`Deleted: ${d}\n`);
        }
      });
  rmi(program.command('rmi').description('remove images (untag; delete when no name is left)'));

  const load = (cmd: Command) =>
    cmd
      .requiredOption('-i, --input <file>', 'an OCI image layout tar or a `docker save` tar')
      .action(async (f: { input: string }) => {
        const res = await request<{ format: string; images: ImageRecord[] }>(
          'POST',
          '/images/load',
          { file: path.resolve(f.input) },
          { stdout: process.stdout, stderr: process.stderr, progress },
        );
        doneProgress();
        for (const i of res.images) process.stdout.write(`Loaded image: ${i.names.join(', ') || i.id}\n`);
      });
  load(program.command('load').description('load images from an OCI layout tar or a docker-save tar'));

  const imp = (cmd: Command) =>
    cmd
      .argument('<file>', 'a root filesystem tar (plain or gzip)')
      .argument('<name>', 'name for the new image, e.g. myimage:1.0')
      .option(
        '-c, --change <instruction>',
        'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE (repeatable)',
        collect,
        [],
      )
      .action(async (file: string, name: string, f: { change: string[] }) => {
        const rec = await request<ImageRecord>(
          'POST',
          '/images/import',
          { file: path.resolve(file), name, changes: f.change },
          { stdout: process.stdout, stderr: process.stderr, progress },
        );
        doneProgress();
        process.stdout.write(`${rec.id}\n`);
      });
  imp(program.command('import').description('make a single-layer image from a root filesystem tar'));

  const inspect = (cmd: Command) =>
    cmd.argument('<image...>').action(async (refs: string[]) => {
      const out = [];
      for (const r of refs) out.push(await request('GET', `/images/${encodeURIComponent(r)}/json`));
      process.stdout.write(json(out));
    });

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
  inspect(image.command('inspect').description('show images in detail (JSON)'));
  load(image.command('load').description('load images from an archive'));
  imp(image.command('import').description('make an image from a rootfs tar'));
  tag(image.command('tag').description('give an image another name'));
}
