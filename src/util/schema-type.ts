/**
 * The TypeScript type of the values a JSON schema (written `as const`) accepts, for the subset of
 * JSON schema moat's request bodies use: `type` string / integer / number / boolean / array
 * (`items`) / object (`properties`, `required`, or `additionalProperties: SCHEMA` for a map),
 * `enum`, and `anyOf` (the union of its schemas' types). Keywords that only narrow a value (pattern, minimum, maxLength ...) do not change its
 * type; a schema outside the subset is `unknown`, so a handler must check what it reads.
 *
 * A property with a `default` is required in the type: the router's validator fills it in
 * (ajv `useDefaults`) before any handler or fact resolver sees the body.
 */

/** One object type instead of an intersection, so that editors show it readably. */
type Flat<T> = { -readonly [K in keyof T]: T[K] };

type Present<P, R> = {
  [K in keyof P]: K extends R ? K : P[K] extends { default: unknown } ? K : never;
}[keyof P];

type PropertiesOf<P, R> = Flat<
  { -readonly [K in Present<P, R>]-?: FromSchema<P[K]> } & {
    -readonly [K in Exclude<keyof P, Present<P, R>>]?: FromSchema<P[K]>;
  }
>;

type ObjectOf<S> = S extends { properties: infer P }
  ? PropertiesOf<P, S extends { required: readonly (infer R)[] } ? R : never>
  : S extends { additionalProperties: infer A extends object }
    ? Record<string, FromSchema<A>>
    : Record<string, unknown>;

export type FromSchema<S> = S extends { enum: readonly (infer E)[] }
  ? E
  : S extends { anyOf: readonly (infer A)[] }
    ? FromSchema<A>
    : S extends { type: 'string' }
      ? string
      : S extends { type: 'integer' | 'number' }
        ? number
        : S extends { type: 'boolean' }
          ? boolean
          : S extends { type: 'array'; items: infer I }
            ? FromSchema<I>[]
            : S extends { type: 'object' }
              ? ObjectOf<S>
              : unknown;
