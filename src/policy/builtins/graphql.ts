/**
 * graphql.* — parsing and validation of GraphQL queries and schemas, as OPA does with gqlparser.
 * Queries and schemas are strings, or (as OPA 0.5x+ accepts) ASTs from graphql.parse_*.
 */
import { operandError } from '../errors.js';
import { RObject, fromJSON, toJSON, typeName, type Value } from '../value.js';
import { GraphQLError, parseQuery, parseSchema, prune } from './graphql-parser.js';
import { validateQuery, validateSchema } from './graphql-validate.js';
import { register } from './registry.js';
import { fail } from './util.js';

type Doc = Record<string, unknown>;

/** A string argument parsed, or an AST object as is; parse errors are GraphQLErrors. */
function doc(fn: string, a: Value[], i: number, parse: (s: string) => Doc): Doc {
  const v = a[i];
  if (typeof v === 'string') return parse(v);
  if (v instanceof RObject) return toJSON(v) as Doc;
  throw operandError(fn, i + 1, 'one of {object, string}', typeName(v));
}

function orFail<T>(fn: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof GraphQLError) fail(fn, `${e.message} in GraphQL string at location ${e.line}:${e.col}`);
    throw e;
  }
}

function orFalse<T>(run: () => T, otherwise: T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof GraphQLError) return otherwise;
    throw e;
  }
}

const ast = (x: unknown): Value => fromJSON(prune(x));

register('graphql.parse_query', (a) =>
  orFail('graphql.parse_query', () => ast(doc('graphql.parse_query', a, 0, parseQuery))),
);
register('graphql.parse_schema', (a) =>
  orFail('graphql.parse_schema', () => ast(doc('graphql.parse_schema', a, 0, parseSchema))),
);
register('graphql.schema_is_valid', (a) =>
  orFalse(() => validateSchema(doc('graphql.schema_is_valid', a, 0, parseSchema)) === undefined, false),
);
register('graphql.is_valid', (a) =>
  orFalse(() => {
    const q = doc('graphql.is_valid', a, 0, parseQuery);
    const s = doc('graphql.is_valid', a, 1, parseSchema);
    return validateSchema(s) === undefined && validateQuery(q, s) === undefined;
  }, false),
);
register('graphql.parse_and_verify', (a) =>
  orFalse((): Value => {
    const q = doc('graphql.parse_and_verify', a, 0, parseQuery);
    const s = doc('graphql.parse_and_verify', a, 1, parseSchema);
    if (validateSchema(s) !== undefined || validateQuery(q, s) !== undefined)
      return [false, new RObject(), new RObject()];
    return [true, ast(q), ast(s)];
  }, [false, new RObject(), new RObject()]),
);
register('graphql.parse', (a) => {
  const fn = 'graphql.parse';
  const q = orFail(fn, () => doc(fn, a, 0, parseQuery));
  const s = orFail(fn, () => doc(fn, a, 1, parseSchema));
  const se = validateSchema(s);
  if (se) fail(fn, `${se.message} in GraphQL schema string at location ${se.line}:${se.col}`);
  const qe = validateQuery(q, s);
  if (qe) fail(fn, `${qe.message} in GraphQL query string at location ${qe.line}:${qe.col}`);
  return [ast(q), ast(s)];
});
