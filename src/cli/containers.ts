import { Option, type Command } from 'commander';
import { trustOption } from './sign.js';
import { prewarmMonitor } from '../runtime/monitor-client.js';
import { startError } from '../runtime/start-errors.js';
import { stopBody, killBody, waitBody } from '../api/schemas.js';
import { request } from './app.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { parseEventTime } from '../runtime/events/filter.js';
import { registerAttach, startAttached } from './attach.js';
import { forEachArg } from './report.js';
import { registerPs } from './ps.js';
import { registerLifecycleVerbs } from './lifecycle.js';
import { inspectContainers } from './inspect.js';
import { DEFAULT_DETACH_KEYS, openTerminal } from './terminal/index.js';
import { addRunOptions, collect, toRunOptions, usage, wholeNumber, type RunFlags } from './run-options.js';

const progress = (msg: string) => process.stderr.write(`${msg}\n`);

export function registerContainerCommands(program: Command, state: CliState): void {
  addRunOptions(
    program
      .command('run')
      .description("create and start a container from an image (exit status: the container's)")
      .argument('<image>', 'image name or ID')
      .argument('[command...]', "command and arguments (default: the image's)")
      .option('--rm', 'remove the container when it exits')
      .option('-d, --detach', 'run in the background and print the container ID')
      .option(
        '--detach-keys <keys>',
        `the keys that detach from a terminal (-it), "" for none`,
        DEFAULT_DETACH_KEYS,
      )
      .addOption(trustOption())
      .passThroughOptions(),
  ).action(async (image: string, cmd: string[], f: RunFlags & { detach?: boolean; detachKeys: string }) => {
    // The container's monitor starts now: its start-up overlaps the planning (see monitor-client).
    prewarmMonitor({ attach: !f.detach, stdin: !f.detach && Boolean(f.interactive) });
    const options = toRunOptions(image, cmd, f);
    const term =
      f.tty && !f.detach
        ? openTerminal({ interactive: Boolean(f.interactive), detachKeys: f.detachKeys })
        : undefined;
    let res;
    try {
      res = await request<{
        id: string;
        name: string;
        exitCode?: number;
        error?: string;
        detached?: boolean;
        warnings: string[];
      }>(
        'POST',
        '/containers/run',
        { options, detach: Boolean(f.detach) },
        {
          stdin: term ? term.stdin : process.stdin,
          stdout: process.stdout,
          stderr: process.stderr,
          progress,
          ...(term ? { console: term.console } : {}),
        },
      );
    } finally {
      term?.restore();
    }
    for (const w of res.warnings) process.stderr.write(`moat: warning: ${w}\n`);
    if (f.detach) {
      process.stdout.write(`${res.id}\n`);
      return;
    }
    if (res.detached) {
      process.stderr.write(`\r\nmoat: detached from ${res.name}: moat attach ${res.name} to return\r\n`);
      return;
    }
    // The command never ran: runc's reason, as a moat error (once: runc's own line is not shown).
    if (res.error) throw startError(res.error, { kind: 'run', name: res.name, exitCode: res.exitCode });
    if (options.seccompLearn !== undefined)
      await (await import('./seccomp-learned.js')).sayLearned(options.seccompLearn);
    state.exitCode = res.exitCode ?? 125;
  });

  addRunOptions(
    program
      .command('create')
      .description('create a container without starting it; prints its ID')
      .argument('<image>')
      .argument('[command...]')
      .option('--rm', 'remove the container when it exits')
      .addOption(trustOption())
      .passThroughOptions(),
  ).action(async (image: string, cmd: string[], f: RunFlags) => {
    const res = await request<{ id: string; warnings: string[] }>(
      'POST',
      '/containers/create',
      { options: toRunOptions(image, cmd, f) },
      { stdout: process.stdout, stderr: process.stderr, progress },
    );
    for (const w of res.warnings) process.stderr.write(`moat: warning: ${w}\n`);
    process.stdout.write(`${res.id}\n`);
  });

  program
    .command('start')
    .description(
      "start created or stopped containers in the background (-a: attached, as run; its exit status is the container's)",
    )
    .argument('<container...>')
    .option('-a, --attach', "attach to the container's output (and terminal), as run does")
    .option('-i, --interactive', 'attach stdin too (a container created with -i)')
    .option(
      '--detach-keys <keys>',
      'with -a: the keys that detach from a terminal, "" for none',
      DEFAULT_DETACH_KEYS,
    )
    .action(async (ids: string[], f: { attach?: boolean; interactive?: boolean; detachKeys: string }) => {
      if (f.attach || f.interactive) {
        if (ids.length > 1) throw new UsageError('moat start -a starts one container at a time');
        return startAttached(ids[0], f, state);
      }
      await forEachArg(ids, state, async (id) => {
        await request('POST', `/containers/${encodeURIComponent(id)}/start`);
        process.stdout.write(`${id}\n`);
      });
    });

  registerAttach(program, state);
  registerPs(program, state);

  program
    .command('logs')
    .description("print a container's output (stdout and stderr, as they were written)")
    .argument('<container>')
    .option('-f, --follow', 'keep printing until the container exits')
    .option('-t, --timestamps', 'prefix each line with its time')
    .option('--tail <n>', 'only the last n lines (all: every line)', (v: string) =>
      v === 'all' ? undefined : wholeNumber('logs', '--tail', 0)(v),
    )
    .option(
      '--since <time>',
      'only lines from this time: Unix seconds, RFC 3339, or a duration before now (10m)',
    )
    .option('--until <time>', 'only lines up to this time, in the same forms')
    .option(
      '--details',
      "docker's extra log attributes: moat's log driver adds none, so this changes nothing",
    )
    .action(
      async (
        id: string,
        f: { follow?: boolean; timestamps?: boolean; tail?: number; since?: string; until?: string },
      ) => {
        const secs = (flag: string, v: string | undefined) => {
          if (v === undefined) return undefined;
          const ns = parseEventTime(v);
          if (ns === undefined)
            throw usage(
              `invalid ${flag} "${v}"`,
              'give Unix seconds, an RFC 3339 time (2026-12-07T10:00:00Z) or a duration before now (10m)',
            );
          return Number(ns) / 1e9;
        };
        const since = secs('--since', f.since);
        const until = secs('--until', f.until);
        await request(
          'GET',
          `/containers/${encodeURIComponent(id)}/logs`,
          {
            follow: Boolean(f.follow),
            timestamps: Boolean(f.timestamps),
            ...(f.tail !== undefined ? { tail: f.tail } : {}),
            ...(since !== undefined ? { since } : {}),
            ...(until !== undefined ? { until } : {}),
          },
          { stdout: process.stdout, stderr: process.stderr },
        );
      },
    );

  program
    .command('stop')
    .description('stop containers: the stop signal, then SIGKILL after the timeout')
    .argument('<container...>')
    .option(
      '-t, --time <seconds>',
      'seconds to wait before killing',
      wholeNumber('stop', '-t/--time', 0, 86400),
      stopBody.properties.timeout.default,
    )
    .action(async (ids: string[], f: { time: number }) => {
      await forEachArg(ids, state, async (id) => {
        await request('POST', `/containers/${encodeURIComponent(id)}/stop`, { timeout: f.time });
        process.stdout.write(`${id}\n`);
      });
    });

  program
    .command('kill')
    .description('send a signal to containers (default SIGKILL)')
    .argument('<container...>')
    .option('-s, --signal <signal>', 'signal name or number', killBody.properties.signal.default)
    .action(async (ids: string[], f: { signal: string }) => {
      await forEachArg(ids, state, async (id) => {
        await request('POST', `/containers/${encodeURIComponent(id)}/kill`, { signal: f.signal });
        process.stdout.write(`${id}\n`);
      });
    });

  program
    .command('rm')
    .description('remove containers and everything they wrote')
    .argument('<container...>')
    .option('-f, --force', 'kill running containers first')
    .option('-v, --volumes', 'remove their anonymous volumes too (named volumes stay)')
    .action(async (ids: string[], f: { force?: boolean; volumes?: boolean }) => {
      await forEachArg(ids, state, async (id) => {
        await request('DELETE', `/containers/${encodeURIComponent(id)}`, {
          force: Boolean(f.force),
          ...(f.volumes ? { volumes: true } : {}),
        });
        process.stdout.write(`${id}\n`);
      });
    });

  program
    .command('exec')
    .description("run a command in a running container (exit status: the command's)")
    .argument('<container>')
    .argument('<command...>')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-u, --user <user[:group]>', "run as this user: a UID or a name from the container's /etc/passwd")
    .option('-w, --workdir <dir>', 'working directory')
    .option('-i, --interactive', 'pass stdin to the command')
    .option(
      '-t, --tty',
      'give the command a terminal (with -i: yours, in raw mode; detach with Ctrl-P Ctrl-Q)',
    )
    .option('--detach-keys <keys>', 'with -it: the keys that detach, "" for none', DEFAULT_DETACH_KEYS)
    .passThroughOptions()
    .action(
      async (
        id: string,
        cmd: string[],
        f: {
          env: string[];
          user?: string;
          workdir?: string;
          interactive?: boolean;
          tty?: boolean;
          detachKeys: string;
        },
      ) => {
        const term = f.tty
          ? openTerminal({ interactive: Boolean(f.interactive), detachKeys: f.detachKeys })
          : undefined;
        let res;
        try {
          res = await request<{ exitCode: number }>(
            'POST',
            `/containers/${encodeURIComponent(id)}/exec`,
            {
              cmd,
              env: f.env,
              ...(f.user ? { user: f.user } : {}),
              ...(f.workdir ? { workdir: f.workdir } : {}),
              interactive: Boolean(f.interactive),
              tty: Boolean(f.tty),
            },
            {
              stdin: term ? term.stdin : process.stdin,
              stdout: process.stdout,
              stderr: process.stderr,
              ...(term ? { console: term.console } : {}),
            },
          );
        } finally {
          term?.restore();
        }
        state.exitCode = res.exitCode;
      },
    );

  program
    .command('inspect')
    .description("show containers in detail (JSON: moat's record and docker's shape)")
    .argument('<container...>')
    .option('-f, --format <template>', "a Go template over that JSON, e.g. '{{.State.ExitCode}}'")
    .option(
      '--security',
      'what protects it instead: user namespace map, capabilities, no_new_privs, seccomp, AppArmor, read-only and masked paths, namespaces, mounts, limits; checked against its running process',
    )
    .action(async (ids: string[], f: { format?: string; security?: boolean }) =>
      inspectContainers(ids, f, state),
    );

  program
    .command('wait')
    .description('wait for containers to stop; prints each exit status')
    .argument('<container...>')
    .addOption(
      new Option(
        '--condition <condition>',
        'not-running (default): until it is not running; next-exit: until it next exits (a created one first runs); removed: until it is removed',
      ).choices(waitBody.properties.condition.enum),
    )
    .action(async (ids: string[], f: { condition?: 'not-running' | 'next-exit' | 'removed' }) => {
      await forEachArg(ids, state, async (id) => {
        const r = await request<{ exitCode?: number }>(
          'POST',
          `/containers/${encodeURIComponent(id)}/wait`,
          f.condition ? { condition: f.condition } : {},
        );
        // a container that never ran has no status: 0, as docker's API answers
        process.stdout.write(`${r.exitCode ?? 0}\n`);
      });
    });
  registerLifecycleVerbs(program, state);
}
