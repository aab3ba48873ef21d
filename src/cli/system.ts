import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULTS, parseDuration, showBytes, showDuration } from '../api/service-limits.js';
import { checkSocketPath, defaultSocket } from '../util/paths.js';
import { getApp, request, subject } from './app.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { json } from './output.js';
import { systemDfCommand, systemPruneCommand } from './prune.js';

function pretty(v: unknown, indent = ''): string {
  if (v === null || typeof v !== 'object') return `${String(v)}\n`;
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== 'object')) return `${v.length ? v.join(', ') : '(none)'}\n`;
    return '\n' + v.map((x) => `${indent}  - ${pretty(x, indent + '    ').trimStart()}`).join('');
  }
  return (
    '\n' +
    Object.entries(v)
      .map(([k, x]) => `${indent}${k}: ${pretty(x, indent + '  ').replace(/^\n/, '\n')}`)
      .join('')
  );
}

export function registerSystemCommands(program: Command, state: CliState): void {
  program
    .command('info')
    .description(
      'what this host offers: user namespaces, ID ranges, cgroups, seccomp, Landlock, AppArmor, runtime',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (f: { format: string }) => {
      state.json = f.format === 'json';
      const info = await request('GET', '/info');
      process.stdout.write(state.json ? json(info) : pretty(info).replace(/^\n/, ''));
    });

  const system = program
    .command('system')
    .description('the API service, disk usage and pruning, and a check of the containers');
  systemDfCommand(system.command('df'), state);
  systemPruneCommand(system.command('prune'), state);
  system
    .command('fsck')
    .description(
      'check the containers: unreadable records, containers without their bundle, leftovers of ' +
        'interrupted creates and removals, runc state and cgroups no running container owns, ' +
        'processes left by removed containers (exit 1 if any)',
    )
    .option(
      '--repair',
      'remove what is broken or left over (containers as rm -f does), kill stray processes (exit 1 if any remains)',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (f: { repair?: boolean; format: string }) => {
      state.json = f.format === 'json';
      const res = await request<{
        checked: number;
        problems: { kind: string; what: string; name?: string; detail: string; repaired?: boolean }[];
        clean: boolean;
      }>('POST', '/system/fsck', { repair: Boolean(f.repair) });
      if (state.json) process.stdout.write(json(res));
      else {
        const label: Record<string, string> = {
          'broken-record': 'broken record',
          incomplete: 'incomplete container',
          'leftover-dir': 'leftover directory',
          'runc-state': 'stale runc state',
          cgroup: 'stray cgroup',
          process: 'stray process',
        };
        for (const p of res.problems) {
          const what = /^[0-9a-f]{64}$/.test(p.what) ? p.what.slice(0, 12) : p.what;
          const done = p.repaired ? (p.kind === 'process' ? ' — killed' : ' — removed') : '';
          process.stdout.write(
            `${label[p.kind] ?? p.kind}: ${what}${p.name ? ` (${p.name})` : ''}: ${p.detail}${done}\n`,
          );
        }
        process.stdout.write(
          `${res.checked} container(s) checked: ${res.clean ? 'clean' : `${res.problems.length} problem(s)${f.repair ? '' : ' (moat system fsck --repair removes them)'}`}\n`,
        );
      }
      if (f.repair ? res.problems.some((p) => !p.repaired) : !res.clean) state.exitCode = 1;
    });
  system
    .command('service')
    .description(
      "serve moat's HTTP API on a unix socket until stopped (SIGINT/SIGTERM): moat's own API under /v1/, " +
        "and the part of Docker's API the docker CLI needs for run, ps, images, pull, create, start, wait, logs, " +
        'stop, kill, rm, rmi, inspect, top, stats, pause, unpause, rename, update, restart, container prune, ' +
        'system df, cp, diff, export, commit, history, info and version (DOCKER_HOST=unix://SOCKET). Every request is decided ' +
        'by the policy, as from the CLI. The socket is 0600: only you (and root) can connect.',
    )
    .option('--socket <path>', 'where to listen (default: $XDG_RUNTIME_DIR/moat/moat.sock)')
    .option(
      '--tcp <host:port>',
      'listen on TCP instead, with mutual TLS (--tls-cert, --tls-key, --tls-ca all required): ' +
        "the subject is the client certificate's common name, allowed by the default policy only " +
        'when listed in data.moat.remote_users',
    )
    .option('--tls-cert <file>', "the server's certificate (PEM), for --tcp")
    .option('--tls-key <file>', "the server's private key (PEM), for --tcp")
    .option('--tls-ca <file>', 'the CA (PEM) that signs the client certificates accepted, for --tcp')
    .option(
      '--header-timeout <duration>',
      `a request's line and headers must arrive within this (500ms, 10s, 2m; default ${showDuration(DEFAULTS.headersTimeoutMs)})`,
    )
    .option(
      '--body-timeout <duration>',
      `a JSON request body must arrive within this of its headers (default ${showDuration(DEFAULTS.bodyTimeoutMs)})`,
    )
    .option(
      '--upload-idle-timeout <duration>',
      `an image archive sent as a request body may pause this long, no longer (default ${showDuration(DEFAULTS.uploadIdleMs)})`,
    )
    .option(
      '--max-connections <n>',
      `connections per listener: beyond them a new one replaces the one idle longest, or is refused when all are busy (default ${DEFAULTS.maxConnections})`,
    )
    .option(
      '--max-upload <size>',
      `the largest image archive a request body may carry (32m, 8g; default ${showBytes(DEFAULTS.maxUploadBytes)})`,
    )
    .action(
      async (f: {
        socket?: string;
        tcp?: string;
        tlsCert?: string;
        tlsKey?: string;
        tlsCa?: string;
        headerTimeout?: string;
        bodyTimeout?: string;
        uploadIdleTimeout?: string;
        maxConnections?: string;
        maxUpload?: string;
      }) => {
        const app = await getApp();
        const { startApiServer } = await import('../api/server.js');
        if (f.tcp && f.socket) throw new UsageError('give --socket or --tcp, not both');
        const limits = await serviceLimits(f);
        const listen = f.tcp
          ? { tcp: tcpOptions(f) }
          : { socket: path.resolve(f.socket ?? defaultSocket(app.engine.deps.paths)) };
        // The policy decides before anything listens (system.service: where, and how clients
        // authenticate); moat's own socket is then protected from bind mounts like its state.
        if (listen.socket) {
          checkSocketPath(listen.socket);
          (await import('../api/host-facts.js')).protectServiceSocket(listen.socket);
        }
        await request(
          'POST',
          '/system/service',
          listen.tcp
            ? {
                transport: 'tcp',
                address: f.tcp,
                tls: {
                  clientCertRequired: true,
                  caSubjects: caSubjects(listen.tcp.ca),
                  minVersion: 'TLSv1.2',
                },
              }
            : { transport: 'unix', address: listen.socket },
        );
        const srv = await startApiServer({
          ...listen,
          router: app.router,
          subject: { ...subject(), via: 'api', local: true },
          version: program.version() ?? '0.1.0',
          log: (msg, extra) => app.log.info(extra ?? {}, msg),
          limits,
          storage: app.engine.deps.paths.storage,
        });
        const where = listen.tcp ? `tcp://${f.tcp} (mutual TLS)` : `unix://${listen.socket}`;
        process.stderr.write(`moat: serving the API on ${where} (DOCKER_HOST=${where.split(' ')[0]})\n`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await srv.close();
        process.stderr.write('moat: API stopped\n');
      },
    );
}

/** The service's limits from its flags (the rest, and every default, from service-limits.ts). */
async function serviceLimits(f: {
  headerTimeout?: string;
  bodyTimeout?: string;
  uploadIdleTimeout?: string;
  maxConnections?: string;
  maxUpload?: string;
}) {
  const { parseBytes } = await import('../runtime/options.js');
  const usage = (flag: string, v: string, e: unknown) =>
    new UsageError(`${flag} ${v}: ${e instanceof Error ? e.message : String(e)}`);
  const duration = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    try {
      return parseDuration(v);
    } catch (e) {
      throw usage(flag, v, e);
    }
  };
  let maxConnections: number | undefined;
  if (f.maxConnections !== undefined) {
    maxConnections = Number(f.maxConnections);
    if (!/^\d+$/.test(f.maxConnections) || maxConnections < 1 || maxConnections > 1_000_000)
      throw usage('--max-connections', f.maxConnections, 'a whole number from 1 to 1000000');
  }
  let maxUploadBytes: number | undefined;
  if (f.maxUpload !== undefined) {
    try {
      maxUploadBytes = parseBytes(f.maxUpload);
    } catch (e) {
      throw usage('--max-upload', f.maxUpload, e);
    }
  }
  return {
    headersTimeoutMs: duration('--header-timeout', f.headerTimeout),
    bodyTimeoutMs: duration('--body-timeout', f.bodyTimeout),
    uploadIdleMs: duration('--upload-idle-timeout', f.uploadIdleTimeout),
    maxConnections,
    maxUploadBytes,
  };
}

/** The subjects of the certificates in a CA bundle (what the policy sees as tls.ca_subjects). */
function caSubjects(pem: string): string[] {
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return certs.map((c) => {
    try {
      return new X509Certificate(c).subject.replace(/\n/g, ', ');
    } catch {
      return '(unreadable certificate)';
    }
  });
}

function tcpOptions(f: { tcp?: string; tlsCert?: string; tlsKey?: string; tlsCa?: string }) {
  const m = /^(.+):(\d{1,5})$/.exec(f.tcp ?? '');
  if (!m || Number(m[2]) > 65535)
    throw new UsageError(`--tcp ${f.tcp}: expected HOST:PORT, e.g. 127.0.0.1:2376`);
  if (!f.tlsCert || !f.tlsKey || !f.tlsCa)
    throw new UsageError(
      '--tcp needs --tls-cert, --tls-key and --tls-ca: the API is never served on plain TCP',
      {
        hint: 'clients authenticate with certificates signed by --tls-ca (DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH)',
      },
    );
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  return {
    host: m[1].replace(/^\[(.*)\]$/, '$1'),
    port: Number(m[2]),
    cert: read(f.tlsCert, '--tls-cert'),
    key: read(f.tlsKey, '--tls-key'),
    ca: read(f.tlsCa, '--tls-ca'),
  };
}
