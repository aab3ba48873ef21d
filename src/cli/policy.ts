import { Command, Option } from 'commander';
import * as path from 'node:path';
import type { PolicyOutput } from '../api/policy-routes.js';
import { request } from './app.js';
import type { CliState } from './index.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const fmt = () =>
  new Option('--format <format>', 'output format').choices(['json', 'pretty']).default('pretty');
const v0 = () => new Option('--v0-compatible', 'read modules in Rego v0 syntax (OPA 1.x flag name)');

export function registerPolicyCommands(program: Command, state: CliState): void {
  const policy = program
    .command('policy')
    .description('write, test and check Rego policies (like opa eval/test/check)');

  policy
    .command('eval')
    .description('evaluate a Rego query (output like `opa eval`; `{}` when undefined)')
    .argument('<query>', 'e.g. data.moat.authz.allow')
    .option('-d, --data <path>', 'a .rego/.json/.yaml file or a directory of them (repeatable)', collect, [])
    .option('-i, --input <file>', 'input document (JSON or YAML)')
    .option('--strict-builtin-errors', 'make builtin errors fail the query')
    .addOption(fmt().default('json'))
    .addOption(v0())
    .action(
      async (
        query: string,
        f: {
          data: string[];
          input?: string;
          format: 'json' | 'pretty';
          v0Compatible?: boolean;
          strictBuiltinErrors?: boolean;
        },
      ) => {
        state.json = f.format === 'json';
        const out = await request<PolicyOutput>('POST', '/policy/eval', {
          data: f.data.map((d) => path.resolve(d)),
          ...(f.input ? { input: path.resolve(f.input) } : {}),
          query,
          format: f.format,
          v0Compatible: Boolean(f.v0Compatible),
          ...(f.strictBuiltinErrors ? { strictBuiltinErrors: true } : {}),
        });
        process.stdout.write(out.stdout);
        state.exitCode = out.exitCode;
      },
    );

  policy
    .command('test')
    .description('run test_* rules (like `opa test`): PASS/FAIL per test, exit status 0 only if all pass')
    .argument('<paths...>', 'files or directories with policies and their tests')
    .option('-v, --verbose', 'print every test and its print() output')
    .option('--coverage', 'report which rules the tests evaluated')
    .option('-r, --run <regex>', 'only run tests whose name matches')
    .addOption(fmt())
    .addOption(v0())
    .action(
      async (
        paths: string[],
        f: {
          verbose?: boolean;
          coverage?: boolean;
          run?: string;
          format: 'json' | 'pretty';
          v0Compatible?: boolean;
        },
      ) => {
        state.json = f.format === 'json';
        const out = await request<PolicyOutput>('POST', '/policy/test', {
          paths: paths.map((p) => path.resolve(p)),
          verbose: Boolean(f.verbose),
          format: f.format,
          v0Compatible: Boolean(f.v0Compatible),
          ...(f.coverage ? { coverage: true } : {}),
          ...(f.run ? { run: f.run } : {}),
        });
        process.stdout.write(out.stdout);
        state.exitCode = out.exitCode;
      },
    );

  policy
    .command('check')
    .description('report parse and compile errors with file:line:col')
    .argument('<paths...>')
    .addOption(fmt())
    .addOption(v0())
    .action(async (paths: string[], f: { format: 'json' | 'pretty'; v0Compatible?: boolean }) => {
      state.json = f.format === 'json';
      const out = await request<PolicyOutput>('POST', '/policy/check', {
        paths: paths.map((p) => path.resolve(p)),
        format: f.format,
        v0Compatible: Boolean(f.v0Compatible),
      });
      process.stdout.write(out.stdout);
      state.exitCode = out.exitCode;
    });
}
