/**
 * `moat network ...`: the networks a run chooses with `--network`: the built-in none, slirp4netns
 * and pasta (whether this host can give each), and user-defined networks (create, rm, prune,
 * connect, disconnect), with the containers on each.
 */
import { Option, type Command } from 'commander';
import type { NetworkView } from '../api/network-routes.js';
import { request } from './app.js';
import { keyValues } from './volumes.js';
import { confirm, pruneLabelBody } from './prune.js';
import type { CliState } from './index.js';
import { json, table } from './output.js';
import { forEachArg } from './report.js';

export function registerNetworkCommands(program: Command, state: CliState): void {
  const network = program
    .command('network')
    .description(
      'the networks a container can have: none (the default), slirp4netns, pasta, and networks you create',
    );
  network
    .command('ls')
    .alias('list')
    .description('list the networks, whether this host can give each, and the running containers on it')
    .option('-q, --quiet', 'only names')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (f: { quiet?: boolean; format: string }) => {
      state.json = f.format === 'json';
      const all = await request<NetworkView[]>('GET', '/networks');
      if (f.quiet) process.stdout.write(all.map((n) => `${n.Name}\n`).join(''));
      else if (state.json) process.stdout.write(json(all));
      else
        process.stdout.write(
          table(
            all.map((n) => [
              n.Id.slice(0, 12),
              n.Name,
              n.Driver,
              n.Available ? 'yes' : `no: ${n.Reason ?? ''}`,
              n.Containers.join(',') || '-',
            ]),
            ['NETWORK ID', 'NAME', 'DRIVER', 'AVAILABLE', 'CONTAINERS'],
          ),
        );
    });
  network
    .command('inspect')
    .description('show networks as JSON')
    .argument('<name...>')
    .action(async (names: string[]) => {
      const found: NetworkView[] = [];
      await forEachArg(names, state, async (n) => {
        found.push(await request<NetworkView>('GET', `/networks/${encodeURIComponent(n)}`));
      });
      process.stdout.write(json(found));
    });
  network
    .command('create')
    .description(
      'create a network: a bridge in a network namespace you own; containers on it reach each other by name and alias, and the outside through their own slirp4netns unless --internal',
    )
    .argument('<name>')
    .option('-d, --driver <driver>', 'only bridge', 'bridge')
    .option('--subnet <cidr>', 'its IPv4 subnet (default: the next free 10.89.N.0/24)')
    .option('--internal', 'no outbound access: its containers reach only each other')
    .option('-l, --label <key=value>', 'set a label (repeatable)', collect, [])
    .option(
      '-o, --opt <key=value>',
      "allow_host_loopback=true: containers' outbound link reaches the host's 127.0.0.1",
      collect,
      [],
    )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(
      async (
        name: string,
        f: {
          driver: string;
          subnet?: string;
          internal?: boolean;
          label: string[];
          opt: string[];
          format: string;
        },
      ) => {
        state.json = f.format === 'json';
        const n = await request<NetworkView>('POST', '/networks/create', {
          name,
          driver: f.driver,
          ...(f.subnet ? { subnet: f.subnet } : {}),
          ...(f.internal ? { internal: true } : {}),
          labels: keyValues(f.label, '--label'),
          options: keyValues(f.opt, '--opt'),
        });
        process.stdout.write(state.json ? json(n) : `${n.Id}\n`);
      },
    );
  network
    .command('rm')
    .alias('remove')
    .description('remove networks (refused while a container, running or not, is on one)')
    .argument('<name...>')
    .option('-f, --force', 'no error for a network that does not exist')
    .action(async (names: string[], f: { force?: boolean }) => {
      await forEachArg(names, state, async (n) => {
        try {
          await request('DELETE', `/networks/${encodeURIComponent(n)}`);
        } catch (e) {
          if (f.force && (e as { code?: string }).code === 'RUNTIME_NETWORK_NOT_FOUND') return;
          throw e;
        }
        process.stdout.write(`${n}\n`);
      });
    });
  network
    .command('prune')
    .description('remove the networks no container is on')
    .option('-f, --force', 'do not ask')
    .option('--filter <key=value>', 'label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable)', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (f: { force?: boolean; filter: string[]; format: string }) => {
      state.json = f.format === 'json';
      if (
        !f.force &&
        !(await confirm('WARNING! This will remove all networks not used by at least one container.'))
      )
        return;
      const r = await request<{ removed: string[] }>('POST', '/networks/prune', pruneLabelBody(f.filter));
      process.stdout.write(
        state.json
          ? json(r)
          : r.removed.length
            ? `Deleted Networks:\n${r.removed.map((n) => `${n}\n`).join('')}`
            : '',
      );
    });
  network
    .command('connect')
    .description(
      'put a container on a network: at once if it runs on a user-defined network already, else from its next start',
    )
    .argument('<network>')
    .argument('<container>')
    .option('--alias <name>', 'another name peers find it by (repeatable)', collect, [])
    .action(async (net: string, container: string, f: { alias: string[] }) => {
      await request('POST', `/networks/${encodeURIComponent(net)}/connect`, {
        container,
        ...(f.alias.length ? { aliases: f.alias } : {}),
      });
    });
  network
    .command('disconnect')
    .description('take a container off a network (a running one loses its link at once)')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'take off a container that is gone (by its ID)')
    .action(async (net: string, container: string, f: { force?: boolean }) => {
      await request('POST', `/networks/${encodeURIComponent(net)}/disconnect`, {
        container,
        ...(f.force ? { force: true } : {}),
      });
    });
}

const collect = (v: string, prev: string[]) => [...prev, v];
