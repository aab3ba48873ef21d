/**
 * `moat cp`, `diff`, `export`, `commit` and `history` (`image history`): docker's commands and
 * output, each one request on the router (files-routes.ts). cp's host side runs here, as the
 * calling user: what a container sends is written below the destination and nowhere else.
 */
import type { Command } from 'commander';
import * as path from 'node:path';
import { request } from './app.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { ago, table } from './output.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export interface CpArg {
  /** The container, for CONTAINER:PATH. */
  container?: string;
  path: string;
}

/**
 * docker's splitCpArg: an absolute path, one without `:`, or one starting with `.` is the host's;
 * otherwise NAME:PATH.
 */
export function splitCpArg(arg: string): CpArg {
  if (arg.startsWith('/')) return { path: arg };
  const i = arg.indexOf(':');
  if (i < 0 || arg.startsWith('.')) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

/** A path in a container: relative ones are from its root (as docker takes them); `/.` and `/` kept. */
export function containerPath(p: string): string {
  return p.startsWith('/') ? p : `/${p}`;
}

/** A host path made absolute, keeping a trailing `/` or `/.` (they mean "a directory", "its contents"). */
export function hostPath(p: string): string {
  const abs = path.resolve(p);
  if (p.endsWith('/.') || p === '.') return abs === '/' ? '/.' : `${abs}/.`;
  if (p.endsWith('/') && abs !== '/') return `${abs}/`;
  return abs;
}

function warnSkipped(skipped: string[] | undefined): void {
  for (const s of skipped ?? [])
    process.stderr.write(`moat: warning: ${s} was not copied (a device, fifo or socket)\n`);
}

/** Docker's sizes in history: three significant digits, decimal units ("7.05MB", "0B"). */
export function historySize(n: number): string {
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${u[i]}`;
}

/** Shorten with an ellipsis, as docker's history does for CREATED BY. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

interface HistoryRow {
  id: string;
  created: string;
  createdBy: string;
  size: number;
  comment: string;
  tags: string[];
}

export function historyTable(rows: HistoryRow[], o: { noTrunc?: boolean; now?: number }): string {
  const id = (r: HistoryRow) => (r.id.startsWith('sha256:') && !o.noTrunc ? r.id.slice(7, 19) : r.id);
  return table(
    rows.map((r) => [
      id(r),
      ago(r.created, o.now),
      o.noTrunc ? r.createdBy : ellipsis(r.createdBy.replace(/\s+/g, ' '), 45),
      historySize(r.size),
      r.comment,
    ]),
    ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
  );
}

export function registerFileCommands(program: Command, state: CliState): void {
  registerContainerFileCommands(program, state);
  registerHistory(program, state);
}

/** cp, diff, export, commit under `parent` (the top level, and `moat container`). */
export function registerContainerFileCommands(program: Command, _state: CliState): void {
  program
    .command('cp')
    .description('copy files between a container and the host (- : a tar on stdin or stdout)')
    .argument('<src>', 'CONTAINER:PATH, a host path, or -')
    .argument('<dest>', 'CONTAINER:PATH, a host path, or -')
    .option('-L, --follow-link', "follow a symlink in the source's last component")
    .option('-a, --archive', "keep the source's owners (default: the owner of the directory it lands in)")
    .action(async (srcArg: string, dstArg: string, f: { followLink?: boolean; archive?: boolean }) => {
      const src = splitCpArg(srcArg);
      const dst = splitCpArg(dstArg);
      if (src.container !== undefined && dst.container !== undefined)
        throw new UsageError('copying between containers is not supported', {
          hint: 'copy to the host first, then into the other container',
        });
      if (src.container === undefined && dst.container === undefined)
        throw new UsageError('one of SRC and DEST must be CONTAINER:PATH', {
          hint: 'e.g. moat cp web:/etc/hosts .',
        });
      const followLink = Boolean(f.followLink);
      if (src.container !== undefined) {
        const id = encodeURIComponent(src.container);
        const p = containerPath(src.path);
        const toStdout = dst.path === '-';
        const res = await request<{ skipped?: string[] }>(
          'GET',
          `/containers/${id}/archive`,
          { path: p, followLink, ...(toStdout ? {} : { hostPath: hostPath(dst.path) }) },
          { stdout: process.stdout, stderr: process.stderr },
        );
        warnSkipped(res.skipped);
        return;
      }
      const id = encodeURIComponent(dst.container!);
      const p = containerPath(dst.path);
      const fromStdin = src.path === '-';
      const res = await request<{ skipped?: string[] }>(
        'POST',
        `/containers/${id}/archive`,
        {
          path: p,
          followLink,
          archiveOwners: Boolean(f.archive),
          ...(fromStdin ? {} : { hostPath: hostPath(src.path) }),
        },
        { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
      );
      warnSkipped(res.skipped);
    });

  program
    .command('diff')
    .description('list what a container changed in its filesystem (A added, C changed, D deleted)')
    .argument('<container>')
    .action(async (id: string) => {
      const res = await request<{ Path: string; Kind: 0 | 1 | 2 }[]>(
        'GET',
        `/containers/${encodeURIComponent(id)}/changes`,
      );
      process.stdout.write(res.map((c) => `${'CAD'[c.Kind]} ${c.Path}\n`).join(''));
    });

  program
    .command('export')
    .description("write a container's filesystem as a tar (its changes over its image, without mounts)")
    .argument('<container>')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (id: string, f: { output?: string }) => {
      if (!f.output && process.stdout.isTTY)
        throw new UsageError('refusing to write a tar to a terminal', {
          hint: 'give -o FILE, or redirect: moat export NAME > FILE.tar',
        });
      const res = await request<{ skipped?: string[] }>(
        'GET',
        `/containers/${encodeURIComponent(id)}/export`,
        f.output ? { hostPath: path.resolve(f.output) } : {},
        { stdout: process.stdout, stderr: process.stderr },
      );
      warnSkipped(res.skipped);
    });

  program
    .command('commit')
    .description("make an image from a container's changes (a new layer on its image); prints its ID")
    .argument('<container>')
    .argument('[repository[:tag]]')
    .option('-m, --message <text>', 'commit message (the history comment)')
    .option('-a, --author <name>', 'author, e.g. "Jane <jane@example.com>"')
    .option(
      '-c, --change <instruction>',
      'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME (repeatable)',
      collect,
      [],
    )
    .option(
      '-p, --pause',
      'freeze a running container while it is committed (the default, where it has a freezer cgroup)',
    )
    .option('--no-pause', "read a running container live (docker's --pause=false)")
    .action(
      async (
        id: string,
        ref: string | undefined,
        f: { message?: string; author?: string; change: string[]; pause: boolean },
      ) => {
        const res = await request<{ id: string }>('POST', `/containers/${encodeURIComponent(id)}/commit`, {
          ...(ref ? { reference: ref } : {}),
          pause: f.pause,
          changes: f.change,
          ...(f.message !== undefined ? { message: f.message } : {}),
          ...(f.author !== undefined ? { author: f.author } : {}),
        });
        process.stdout.write(`${res.id}\n`);
      },
    );
}

/** `moat history` and `moat image history`. */
function registerHistory(program: Command, state: CliState): void {
  const history = (cmd: Command) =>
    cmd
      .argument('<image>')
      .option('--no-trunc', 'show full IDs and commands')
      .option('-q, --quiet', 'only the IDs')
      .option('--format <format>', 'json: one JSON object per line (docker history --format json)')
      .action(async (ref: string, f: { trunc: boolean; quiet?: boolean; format?: string }) => {
        if (f.format !== undefined && f.format !== 'json' && f.format !== 'table')
          throw new UsageError(`--format ${JSON.stringify(f.format)}: moat history knows json and table`);
        const rows = await request<HistoryRow[]>('GET', `/images/${encodeURIComponent(ref)}/history`);
        const id = (r: HistoryRow) => (r.id.startsWith('sha256:') && f.trunc ? r.id.slice(7, 19) : r.id);
        if (f.quiet) {
          process.stdout.write(rows.map((r) => `${id(r)}\n`).join(''));
        } else if (f.format === 'json' || state.json) {
          for (const r of rows)
            process.stdout.write(
              JSON.stringify({
                Comment: r.comment,
                CreatedAt: r.created,
                CreatedBy: r.createdBy,
                CreatedSince: ago(r.created),
                ID: id(r),
                Size: historySize(r.size),
              }) + '\n',
            );
        } else {
          process.stdout.write(historyTable(rows, { noTrunc: !f.trunc }));
        }
      });
  history(program.command('history').description('show the history of an image (its layers, newest first)'));
  const image =
    program.commands.find((c) => c.name() === 'image') ??
    program.command('image').description('manage images');
  history(image.command('history').description('show the history of an image'));
}
