import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { PolicyEngine, RegoError, RegoErrors } from '../../../src/policy/index.js';

interface Case {
  note: string;
  modules?: string[];
  query: string;
  input?: unknown;
  data?: unknown;
  v0?: boolean;
  strict?: boolean;
  sort?: boolean;
  want?: Record<string, unknown>[];
  want_error?: string;
}

const dir = join(import.meta.dirname, 'cases');
for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
  const { cases } = yaml.load(readFileSync(join(dir, file), 'utf8')) as { cases: Case[] };
  describe(file, () => {
    for (const c of cases) {
      it(c.note, () => {
        const run = (): Record<string, unknown>[] => {
          const engine = new PolicyEngine(
            (c.modules ?? []).map((text, i) => ({ file: `m${i}.rego`, text })),
            c.data ?? {},
            { v0Compatible: c.v0, strictBuiltinErrors: c.strict },
          );
          return engine
            .eval(c.query, c.input, { print: () => undefined, now: 1_700_000_000_000_000_000n })
            .map((r) => r.bindings);
        };
        if (c.want_error) {
          let code: string | undefined;
          try {
            run();
          } catch (e) {
            code = e instanceof RegoErrors ? e.errors[0].code : e instanceof RegoError ? e.code : String(e);
          }
          expect(code).toBe(c.want_error);
          return;
        }
        const got = run();
        const want = c.want ?? [];
        // compare only the `x` binding when the case names one
        const pick = (rs: Record<string, unknown>[]): unknown[] =>
          rs.map((r) => ('x' in (want[0] ?? {}) ? r.x : r));
        expect(pick(got)).toEqual(pick(want));
      });
    }
  });
}
