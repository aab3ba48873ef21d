/**
 * `moat network ls|inspect`: the networks a run chooses with `--network` (none, slirp4netns, pasta),
 * whether this host can give each, and the running containers on it. `create`, `rm`, `connect`,
 * `disconnect` and `prune` say that user-defined networks are not offered yet.
 */
import { Option, type Command } from 'commander';
import type { NetworkView } from '../api/network-routes.js';
import { request } from './app.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { json, table } from './output.js';
import { forEachArg } from './report.js';

const NOT_YET = (verb: string) =>
  new UsageError(`moat network ${verb}: user-defined networks are not offered yet`, {
    hint: 'run containers with --network slirp4netns or pasta and publish ports (-p); containers reach each other through the host',
  });

export function registerNetworkCommands(program: Command, state: CliState): void {
  const network = program
    .command('network')
    .description('the networks a container can have: none (the default), slirp4netns, pasta');
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
  for (const verb of ['create', 'rm', 'connect', 'disconnect', 'prune'])
    network
      .command(verb)
      .description('not offered yet: user-defined networks')
      .allowUnknownOption()
      .argument('[args...]')
      .action(() => {
        throw NOT_YET(verb);
      });
}
