/**
 * `moat container VERB`: docker's management-command spelling of the container commands
 * (`docker container ls`, `docker container rm`...). The same commands as at the top level, built
 * by the same functions (so each is the same request the policy decides), plus what docker has
 * only under this name: `prune`, and `ls`/`list` as names of `ps`.
 */
import type { Command } from 'commander';
import { registerContainerCommands } from './containers.js';
import { registerContainerFileCommands } from './files.js';
import type { CliState } from './index.js';
import { containerPruneCommand } from './prune.js';

/**
 * `withVerbs: false` makes the group alone, without its commands: for a command line that does not
 * name it (building them again took ~3 ms of every command). `moat --help` lists the group the same.
 */
export function registerContainerGroup(program: Command, state: CliState, withVerbs = true): void {
  const container = program
    .command('container')
    .description(
      'manage containers: the container commands under docker’s names (moat container ls, rm, ...)',
    );
  if (!withVerbs) return;
  registerContainerCommands(container, state);
  registerContainerFileCommands(container, state);
  containerPruneCommand(container.command('prune'), state);
  container.commands.find((c) => c.name() === 'ps')?.aliases(['ls', 'list']);
}
