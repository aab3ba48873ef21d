/**
 * The rest of the lifecycle and observation (issue 15), registered at the top level as moat's
 * other container commands are, and under `moat container` as docker has them.
 */
import type { Command } from 'commander';
import type { CliState } from './index.js';
import {
  pauseCommand,
  portCommand,
  renameCommand,
  restartCommand,
  unpauseCommand,
  updateCommand,
} from './lifecycle-verbs.js';
import { containerPruneCommand } from './prune.js';
import { statsCommand } from './stats.js';
import { topCommand } from './top.js';

/** The commands that exist both as `moat VERB` and `moat container VERB`. */
function verbs(parent: Command, state: CliState): void {
  topCommand(parent.command('top'));
  statsCommand(parent.command('stats'), state);
  pauseCommand(parent.command('pause'), state);
  unpauseCommand(parent.command('unpause'), state);
  renameCommand(parent.command('rename'));
  updateCommand(parent.command('update'), state);
  restartCommand(parent.command('restart'), state);
  portCommand(parent.command('port'));
}

export function registerLifecycleCommands(program: Command, state: CliState): void {
  verbs(program, state);
  const container = program
    .command('container')
    .description(
      'docker’s container commands moat has under this name (the others are top-level: moat ps, run, rm...)',
    );
  verbs(container, state);
  containerPruneCommand(container.command('prune'), state);
}
