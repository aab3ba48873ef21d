import * as path from 'node:path';
import { Command, Option } from 'commander';
import { getApp, request, subject } from './app.js';
import type { CliState } from './index.js';
import { json } from './output.js';

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

  const system = program.command('system').description('the API service');
  system
    .command('service')
    .description(
      "serve moat's HTTP API on a unix socket until stopped (SIGINT/SIGTERM): moat's own API under /v1/, " +
        "and the part of Docker's API the docker CLI needs for run, ps, images, pull, create, start, wait, logs, " +
        'stop, kill, rm, rmi, inspect, info and version (DOCKER_HOST=unix://SOCKET). Every request is decided ' +
        'by the policy, as from the CLI. The socket is 0600: only you (and root) can connect.',
    )
    .option('--socket <path>', 'where to listen (default: $XDG_RUNTIME_DIR/moat/moat.sock)')
    .action(async (f: { socket?: string }) => {
      const app = await getApp();
      const socket = path.resolve(f.socket ?? path.join(app.engine.deps.paths.runtime, 'moat.sock'));
      const { startApiServer } = await import('../api/server.js');
      const srv = await startApiServer({
        socket,
        router: app.router,
        subject: { ...subject(), via: 'api', local: true },
        version: program.version() ?? '0.1.0',
        log: (msg, extra) => app.log.info(extra ?? {}, msg),
      });
      process.stderr.write(`moat: serving the API on unix://${socket} (DOCKER_HOST=unix://${socket})\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await srv.close();
      process.stderr.write('moat: API stopped\n');
    });
}
