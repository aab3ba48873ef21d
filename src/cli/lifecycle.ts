/**
 * The rest of the lifecycle and observation (issue 15): registered wherever the other container
 * commands are (the top level, and `moat container`: container-group.ts).
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
import { statsCommand } from './stats.js';
import { topCommand } from './top.js';

/** top, stats, pause, unpause, rename, update, restart, port under `parent`. */
export function registerLifecycleVerbs(parent: Command, state: CliState): void {
  topCommand(parent.command('top'));
  statsCommand(parent.command('stats'), state);
  pauseCommand(parent.command('pause'), state);
  unpauseCommand(parent.command('unpause'), state);
  renameCommand(parent.command('rename'));
  updateCommand(parent.command('update'), state);
  restartCommand(parent.command('restart'), state);
  portCommand(parent.command('port'));
}
