/** graphql.* — parsing and validation of GraphQL queries and schemas, as OPA does with gqlparser. */
import { RObject, fromJSON, type Value } from '../value.js';
import { GraphQLError, parseQuery, parseSchema, prune } from './graphql-parser.js';
import { validateQuery, validateSchema } from './graphql-validate.js';
import { register } from './registry.js';
import { fail, str } from './util.js';

function parsed<T>(fn: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof GraphQLError) fail(fn, `${e.message} in GraphQL string at location ${e.line}:${e.col}`);
    throw e;
  }
}

const ast = (x: unknown): Value => fromJSON(prune(x));

function schemaArg(fn: string, a: Value[], i: number): Record<string, unknown> {
  return parsed(fn, () => parseSchema(str(fn, a, i)));
}

register('graphql.parse_query', (a) =>
  ast(parsed('graphql.parse_query', () => parseQuery(str('graphql.parse_query', a, 0)))),
);
register('graphql.parse_schema', (a) => ast(schemaArg('graphql.parse_schema', a, 0)));
register('graphql.schema_is_valid', (a) => {
  try {
    return validateSchema(parseSchema(str('graphql.schema_is_valid', a, 0))) === undefined;
  } catch (e) {
    if (e instanceof GraphQLError) return false;
    throw e;
  }
});
register('graphql.is_valid', (a) => {
  try {
    const q = parseQuery(str('graphql.is_valid', a, 0));
    const s = parseSchema(str('graphql.is_valid', a, 1));
    const schema = validateSchema(s);
    if (schema !== undefined) return false;
    return validateQuery(q, s) === undefined;
  } catch (e) {
    if (e instanceof GraphQLError) return false;
    throw e;
  }
});
register('graphql.parse_and_verify', (a) => {
  try {
    const q = parseQuery(str('graphql.parse_and_verify', a, 0));
    const s = parseSchema(str('graphql.parse_and_verify', a, 1));
    if (validateSchema(s) !== undefined || validateQuery(q, s) !== undefined)
      return [false, new RObject(), new RObject()];
    return [true, ast(q), ast(s)];
  } catch (e) {
    if (e instanceof GraphQLError) return [false, new RObject(), new RObject()];
    throw e;
  }
});
register('graphql.parse', (a) => {
  const fn = 'graphql.parse';
  const q = parsed(fn, () => parseQuery(str(fn, a, 0)));
  const s = schemaArg(fn, a, 1);
  const err = validateSchema(s) ?? validateQuery(q, s);
  if (err) fail(fn, `${err.message} in GraphQL string at location ${err.line}:${err.col}`);
  return [ast(q), ast(s)];
});
