/**
 * Registry commands: pull, push, login, logout, save, image fsck. Each builds one
 * request to the router (app.ts). Transfers show a live per-layer display on a TTY (stderr) and
 * plain lines otherwise; stdout gets only the result (the image ID for pull, like podman; with
 * `--format json`, one JSON object at the end, and errors as JSON too).
 */
import { Command, Option } from 'commander';
import * as path from 'node:path';
import type { TransferIo } from '../api/registry-routes.js';
import type { TransferEvent } from '../image/registry/progress.js';
import { request } from './app.js';
import { trustOption } from './sign.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { humanSize, json, recordKinds } from './output.js';
import { closeNet, tlsOption } from './net-options.js';

const formatOption = () =>
  new Option('--format <format>', 'output: text, or one JSON object at the end (json)')
    .choices(['text', 'json'])
    .default('text');

type BlobState = 'fetched' | 'present' | 'uploaded' | 'mounted';
interface BlobOut {
  digest: string;
  size: number;
  state: BlobState;
}

/** `--format json` of pull and push: config first in `blobs`, the layers after it. */
function transferJson(
  head: Record<string, unknown>,
  blobs: BlobOut[],
  bytesTransferred: number,
  started: number,
): string {
  const [config, ...layers] = blobs;
  return json({
    ...head,
    config,
    layers,
    bytesTransferred,
    durationMs: Math.round(performance.now() - started),
  });
}

/** A TransferIo that draws on stderr: redrawn frame on a TTY, plain lines otherwise. */
async function transferIo(quiet: boolean): Promise<{ io: TransferIo; done: () => void }> {
  const { TransferView } = await import('../image/registry/progress.js');
  const view = new TransferView();
  const err = process.stderr;
  const base = {
    stdout: process.stdout,
    stderr: err,
    progress: (m: string) => !quiet && err.write(`${m}\n`),
  };
  if (quiet) return { io: { ...base, transfer: () => {} }, done: () => {} };
  if (!err.isTTY) {
    return {
      io: {
        ...base,
        transfer: (e: TransferEvent) => {
          const line = view.apply(e);
          if (line) err.write(`${line}\n`);
        },
      },
      done: () => {},
    };
  }
  let drawn = 0;
  let last = 0;
  const draw = () => {
    const lines = view.frame();
    err.write(
      (drawn ? `\x1b[${drawn}A` : '') +
        lines.map((l) => `\r\x1b[K${l.slice(0, (err.columns || 100) - 1)}\n`).join(''),
    );
    drawn = lines.length;
    last = Date.now();
  };
  return {
    io: {
      ...base,
      transfer: (e: TransferEvent) => {
        view.apply(e);
        if (e.kind !== 'blob' || e.state !== 'downloading' || Date.now() - last > 100) draw();
      },
    },
    done: () => draw(),
  };
}

async function readPassword(stdin: boolean): Promise<string> {
  if (stdin || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  process.stderr.write('Password: ');
  process.stdin.setRawMode(true);
  return new Promise((resolve) => {
    let buf = '';
    const on = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          process.stdin.setRawMode(false);
          process.stdin.off('data', on);
          process.stdin.pause();
          process.stderr.write('\n');
          resolve(buf);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        if (ch === '\u007f') buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    process.stdin.on('data', on);
  });
}

export function registerRegistryCommands(program: Command, state: CliState): void {
  const pullCmd = (cmd: Command) =>
    cmd
      .argument('<reference>', 'host[:port]/name[:tag|@sha256:…] (short names need a default registry)')
      .option(
        '--platform <os/arch[/variant]>',
        'platform to pick from a multi-platform image (default: this host)',
      )
      .addOption(tlsOption())
      .option(
        '--no-unpack',
        "only store the blobs; by default the image's root is unpacked while the layers download, so the first run starts at once",
      )
      .option('-q, --quiet', 'no progress output')
      .addOption(trustOption())
      .addOption(formatOption())
      .action(
        async (
          reference: string,
          f: { platform?: string; tlsVerify?: boolean; quiet?: boolean; unpack?: boolean; format: string },
        ) => {
          state.json = f.format === 'json';
          const started = performance.now();
          const { io, done } = await transferIo(Boolean(f.quiet));
          const res = await request<{
            id: string;
            reference: string;
            name?: string;
            digest: string;
            manifestDigest: string;
            mediaType: string;
            platform: string;
            fetched: number;
            fetchedBytes: number;
            unpacked?: boolean;
            blobs: BlobOut[];
          }>(
            'POST',
            '/images/pull',
            {
              reference,
              platform: f.platform,
              tlsVerify: f.tlsVerify,
              ...(f.unpack === false ? { unpack: false } : {}),
            },
            io,
          ).finally(closeNet);
          done();
          if (state.json) {
            const { blobs, fetchedBytes, ...head } = res;
            process.stdout.write(transferJson(head, blobs, fetchedBytes, started));
            return;
          }
          if (!f.quiet) process.stderr.write(`pulled ${res.reference} (digest ${res.digest})\n`);
          process.stdout.write(`${res.id}\n`);
        },
      );

  const pushCmd = (cmd: Command) =>
    cmd
      .argument('<image>', 'a local image (name or ID)')
      .argument('[destination]', 'host[:port]/name:tag (default: the image name)')
      .addOption(tlsOption())
      .option(
        '--chunk-size <bytes>',
        'upload in chunks of this many bytes (default: one request per blob)',
        (v) => {
          const n = Number(v);
          if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`invalid --chunk-size ${v}`);
          return n;
        },
      )
      .option('-q, --quiet', 'no progress output')
      .addOption(formatOption())
      .action(
        async (
          image: string,
          destination: string | undefined,
          f: { tlsVerify?: boolean; chunkSize?: number; quiet?: boolean; format: string },
        ) => {
          state.json = f.format === 'json';
          const started = performance.now();
          const { io, done } = await transferIo(Boolean(f.quiet));
          const res = await request<{
            reference: string;
            digest: string;
            mediaType: string;
            platform: string;
            blobs: { digest: string; size: number; state: 'exists' | 'mounted' | 'done' }[];
            uploadedBytes: number;
          }>(
            'POST',
            `/images/${encodeURIComponent(image)}/push`,
            { destination, tlsVerify: f.tlsVerify, chunkSize: f.chunkSize },
            io,
          ).finally(closeNet);
          done();
          if (state.json) {
            const { blobs, uploadedBytes, ...head } = res;
            const out = blobs.map((b) => ({
              digest: b.digest,
              size: b.size,
              state: (b.state === 'exists'
                ? 'present'
                : b.state === 'done'
                  ? 'uploaded'
                  : 'mounted') as BlobState,
            }));
            process.stdout.write(transferJson(head, out, uploadedBytes, started));
            return;
          }
          process.stdout.write(`${res.reference}@${res.digest}\n`);
        },
      );

  const saveCmd = (cmd: Command) =>
    cmd
      .argument('<image...>')
      .requiredOption('-o, --output <file>', 'the tar to write')
      .addOption(
        new Option('--format <format>', 'archive format')
          .choices(['oci-archive', 'docker-archive'])
          .default('oci-archive'),
      )
      .action(async (images: string[], f: { output: string; format: string }) => {
        const res = await request<{ file: string; size: number }>('POST', '/images/save', {
          images,
          file: path.resolve(f.output),
          format: f.format,
        });
        process.stderr.write(`wrote ${res.file} (${humanSize(res.size)})\n`);
      });

  pullCmd(program.command('pull').description('pull an image from a registry, verifying every byte'));
  pushCmd(program.command('push').description('push an image to a registry'));
  saveCmd(program.command('save').description('write images to an OCI layout tar or a docker-archive tar'));

  program
    .command('login')
    .description('store credentials for a registry (after checking them) in ~/.config/moat/auth.json')
    .argument('<registry>', 'host[:port]')
    .option('-u, --username <user>')
    .option(
      '-p, --password <password>',
      'the password (visible in the process list; prefer --password-stdin)',
    )
    .option('--password-stdin', 'read the password from stdin')
    .addOption(tlsOption())
    .action(
      async (
        registry: string,
        f: { username?: string; password?: string; passwordStdin?: boolean; tlsVerify?: boolean },
      ) => {
        if (!f.username) throw new UsageError('login needs --username');
        const password = f.password ?? (await readPassword(Boolean(f.passwordStdin)));
        if (!password) throw new UsageError('empty password');
        await request('POST', '/registries/login', {
          registry,
          username: f.username,
          password,
          tlsVerify: f.tlsVerify,
        }).finally(closeNet);
        process.stdout.write('Login Succeeded!\n');
      },
    );

  program
    .command('logout')
    .description("remove a registry's credentials from moat's auth file")
    .argument('[registry]')
    .option('-a, --all', 'remove every credential')
    .action(async (registry: string | undefined, f: { all?: boolean }) => {
      if (!registry && !f.all)
        throw new UsageError('logout needs a registry, or --all', {
          hint: 'moat logout HOST[:PORT], or moat logout --all to remove every credential moat stored',
        });
      const res = await request<{ removed: string[] }>('POST', '/registries/logout', {
        registry,
        all: Boolean(f.all),
      });
      for (const r of res.removed) process.stdout.write(`Removed login credentials for ${r}\n`);
    });

  const image =
    program.commands.find((c) => c.name() === 'image') ??
    program.command('image').description('manage images');
  pullCmd(image.command('pull').description('pull an image from a registry'));
  pushCmd(image.command('push').description('push an image to a registry'));
  saveCmd(image.command('save').description('write images to a tar'));
  image
    .command('fsck')
    .description('re-hash every blob in the store; report corrupt or missing ones (exit 1 if any)')
    .option(
      '--repair',
      'delete corrupt blobs, stray files and scan or trust records of removed images (pull or load the images again afterwards)',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (f: { repair?: boolean; format: string }) => {
      state.json = f.format === 'json';
      const res = await request<{
        checked: number;
        corrupt: { digest: string; actual: string }[];
        missing: { image: string; digest: string; reason: string }[];
        strays: string[];
        temp: string[];
        orphanRecords: string[];
        orphanRecordKinds: Record<string, string[]>;
        removed: string[];
        clean: boolean;
      }>('POST', '/images/fsck', { repair: Boolean(f.repair) });
      if (state.json) process.stdout.write(json(res));
      else {
        for (const c of res.corrupt)
          process.stdout.write(
            `corrupt: ${c.digest} (hashes to ${c.actual})${f.repair ? ' — removed' : ''}\n`,
          );
        for (const m of res.missing) process.stdout.write(`image ${m.image}: blob ${m.digest} ${m.reason}\n`);
        for (const s of res.strays) process.stdout.write(`stray file: ${s}${f.repair ? ' — removed' : ''}\n`);
        for (const d of res.orphanRecords)
          process.stdout.write(
            `${recordKinds(res.orphanRecordKinds[d])} records of no image: ${d}${f.repair ? ' — removed' : ''}\n`,
          );
        process.stdout.write(
          `${res.checked} blob(s) checked: ${res.clean ? 'clean' : `${res.corrupt.length} corrupt, ${res.missing.length} missing, ${res.strays.length} stray`}${res.temp.length ? `; ${res.temp.length} temp file(s) of interrupted writes (moat image prune removes them)` : ''}${res.orphanRecords.length && !f.repair ? `; ${recordKinds(Object.values(res.orphanRecordKinds).flat())} records of ${res.orphanRecords.length} removed image(s) (moat image prune or --repair removes them)` : ''}\n`,
        );
      }
      if (!res.clean && !f.repair) state.exitCode = 1;
    });
}
