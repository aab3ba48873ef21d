/**
 * JSON-schema validators that cost nothing until used. Compiling schemas with ajv at start-up
 * took longer than the rest of moat's start, so each validator is registered here by name and
 * built on first call: from the standalone code that `npm run build` generates (one file per
 * validator, dist/generated/validators/NAME.cjs, checked against a hash of the schema), else by ajv
 * itself. One file each: a command needs a few of them, and reading all of them (one 430 KB file)
 * took ~10 ms of every command.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ErrorObject, Options, ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

export type Validator<T = unknown> = ((data: unknown) => data is T) & { errors?: ErrorObject[] | null };

interface Entry {
  schema: Record<string, unknown>;
  options: Options;
  /** schemaHash of schema and options (computed when first asked: a sha256 per route at start-up). */
  readonly hash: string;
}

const registry = new Map<string, Entry>();

export function schemaHash(schema: unknown, options: Options): string {
  return createHash('sha256').update(JSON.stringify({ schema, options })).digest('hex').slice(0, 16);
}

/** The generated file of the validator registered as `name` (gen-validators writes it). */
export function generatedFile(name: string): string {
  return `${encodeURIComponent(name)}.cjs`;
}

function loadGenerated(name: string): { hash: string; validate: ValidateFunction } | null {
  try {
    return require(`../generated/validators/${generatedFile(name)}`) as {
      hash: string;
      validate: ValidateFunction;
    };
  } catch {
    return null;
  }
}

function entryOf(schema: Record<string, unknown>, options: Options): Entry {
  let hash: string | undefined;
  return {
    schema,
    options,
    get hash() {
      return (hash ??= schemaHash(schema, options));
    },
  };
}

const ajvByOptions = new Map<string, import('ajv').Ajv>();
function compile(e: Entry): ValidateFunction {
  const key = JSON.stringify(e.options);
  let ajv = ajvByOptions.get(key);
  if (!ajv) {
    const { Ajv } = require('ajv') as typeof import('ajv');
    ajv = new Ajv(e.options);
    ajvByOptions.set(key, ajv);
  }
  return ajv.compile(e.schema);
}

/** Register a schema under a unique name; the returned function validates (and sets `.errors`). */
export function lazyValidator<T = unknown>(
  name: string,
  schema: Record<string, unknown>,
  options: Options = {},
): Validator<T> {
  const opts: Options = { strict: true, ...options, code: { ...(options.code ?? {}), source: true } };
  const entry = entryOf(schema, opts);
  const before = registry.get(name);
  if (before && before.hash !== entry.hash)
    throw new Error(`validator ${name} registered twice with different schemas`);
  registry.set(name, entry);
  let impl: ValidateFunction | undefined;
  const fn = ((data: unknown) => {
    if (!impl) {
      const g = loadGenerated(name);
      impl = g && g.hash === entry.hash ? g.validate : compile(entry);
    }
    const ok = impl(data);
    fn.errors = impl.errors;
    return ok;
  }) as Validator<T>;
  return fn;
}

/** For the build step that writes the standalone validators. */
export function registeredValidators(): ReadonlyMap<string, Entry> {
  return registry;
}
