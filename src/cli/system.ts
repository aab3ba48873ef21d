import { Command, Option } from 'commander';
import { request } from './app.js';
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
}
