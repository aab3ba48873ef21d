/**
 * `moat generate systemd NAME`: a systemd user unit that runs a container (podman's answer to
 * "what restarts my containers after a reboot": moat has no daemon). The unit starts it attached
 * (`moat start -a`: systemd sees its life and its exit status) and stops it with `moat stop`; the
 * container's restart policy becomes the unit's Restart=.
 */
import type { Command } from 'commander';
import { writeFileSync, renameSync } from 'node:fs';
import * as path from 'node:path';
import type { ContainerRecord } from '../runtime/state.js';
import { request } from './app.js';
import type { CliState } from './index.js';

const RESTART: Record<string, string> = {
  no: 'no',
  'on-failure': 'on-failure',
  always: 'always',
  'unless-stopped': 'always',
};

/** The unit's text for container `rec`, run with `node` and `moat` (absolute paths). Pure. */
export function systemdUnit(
  rec: Pick<ContainerRecord, 'id' | 'name' | 'image' | 'options'>,
  o: { node: string; moat: string; stopTimeout: number; now: Date },
): string {
  const cmd = (...args: string[]) =>
    [o.node, o.moat, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  const p = rec.options?.restart;
  return [
    `# container-${rec.name}.service, written by moat generate systemd on ${o.now.toISOString()}`,
    `# As a user unit: cp it to ~/.config/systemd/user/, then systemctl --user daemon-reload &&`,
    `# systemctl --user enable --now container-${rec.name}; loginctl enable-linger $USER starts it at boot.`,
    '[Unit]',
    `Description=moat container ${rec.name} (${rec.image})`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${cmd('start', '-a', rec.name)}`,
    `ExecStop=${cmd('stop', '-t', String(o.stopTimeout), rec.name)}`,
    `Restart=${RESTART[p?.name ?? 'no']}`,
    ...(p?.name === 'on-failure' && p.maxRetries ? [`StartLimitBurst=${p.maxRetries}`] : []),
    'RestartSec=1',
    `TimeoutStopSec=${o.stopTimeout + 10}`,
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

export function registerGenerate(program: Command, _state: CliState): void {
  const gen = program.command('generate').description('write files that run moat containers elsewhere');
  gen
    .command('systemd')
    .description(
      'a systemd user unit that starts a container (attached: systemd sees it) and stops it: what brings containers back after a reboot, moat having no daemon',
    )
    .argument('<container>')
    .option('--files', 'write container-NAME.service in the current directory instead of printing it')
    .option('-t, --time <seconds>', 'stop timeout', '10')
    .action(async (ref: string, f: { files?: boolean; time: string }) => {
      const rec = await request<ContainerRecord>('GET', `/containers/${encodeURIComponent(ref)}/json`);
      const t = Number(f.time);
      const unit = systemdUnit(rec, {
        node: process.execPath,
        moat: path.resolve(process.argv[1] ?? 'moat'),
        stopTimeout: Number.isInteger(t) && t >= 0 ? t : 10,
        now: new Date(),
      });
      if (!f.files) {
        process.stdout.write(unit);
        return;
      }
      const file = path.resolve(`container-${rec.name}.service`);
      writeFileSync(`${file}.tmp`, unit, { mode: 0o644 });
      renameSync(`${file}.tmp`, file);
      process.stdout.write(`${file}\n`);
    });
}
