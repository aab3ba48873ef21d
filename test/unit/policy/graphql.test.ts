/** graphql.*: gqlparser-shaped parsing (OPA's pruned AST JSON), schema and query validation. */
import { describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../../src/policy/index.js';

const engine = new PolicyEngine([]);
const strict = new PolicyEngine([], {}, { strictBuiltinErrors: true });
const x = (q: string, input?: unknown): unknown => engine.eval(`x := ${q}`, input)[0]?.bindings.x;

const schema = `
  type Query { employee(id: String!): Employee }
  type Employee { id: String! salary: Int! boss: Employee }
`;

describe('graphql', () => {
  it('parses queries into the pruned AST', () => {
    expect(x('graphql.parse_query("{ hero(episode: $e) { name } }")')).toEqual({
      Operations: [
        {
          Name: '',
          Operation: 'query',
          SelectionSet: [
            {
              Alias: 'hero',
              Name: 'hero',
              Arguments: [{ Name: 'episode', Value: { Kind: 0, Raw: 'e' } }],
              SelectionSet: [{ Alias: 'name', Name: 'name' }],
            },
          ],
        },
      ],
    });
  });
  it('parses schemas', () => {
    expect(x('graphql.parse_schema("type Hello { world: [String!] }")')).toEqual({
      Definitions: [
        {
          BuiltIn: false,
          Description: '',
          Kind: 'OBJECT',
          Name: 'Hello',
          Fields: [
            {
              Description: '',
              Name: 'world',
              Type: { NamedType: '', NonNull: false, Elem: { NamedType: 'String', NonNull: true } },
            },
          ],
        },
      ],
    });
  });
  it("reports syntax errors with gqlparser's wording and location", () => {
    expect(() => strict.eval('graphql.parse_query("{ field: {} }")')).toThrow(
      'graphql.parse_query: Expected Name, found { in GraphQL string at location 1:10',
    );
  });
  it('validates schemas', () => {
    expect(x('graphql.schema_is_valid(input)', schema)).toBe(true);
    expect(x('graphql.schema_is_valid("union U = Missing")')).toBe(false);
    expect(x('graphql.schema_is_valid("type T {}")')).toBe(false);
  });
  it('validates queries against a schema', () => {
    const ok = '{ employee(id: "1") { id boss { salary } } }';
    expect(x('graphql.is_valid(input.q, input.s)', { q: ok, s: schema })).toBe(true);
    for (const bad of [
      '{ employee { id } }',
      '{ employee(id: "1") { nope } }',
      '{ employee(id: "1") }',
      'query($v: Int) { employee(id: "1") { id } }',
    ])
      expect(x('graphql.is_valid(input.q, input.s)', { q: bad, s: schema }), bad).toBe(false);
    const [okv, q] = x('graphql.parse_and_verify(input.q, input.s)', { q: ok, s: schema }) as [
      boolean,
      unknown,
    ];
    expect(okv).toBe(true);
    expect(q).toMatchObject({ Operations: [{ Operation: 'query' }] });
    expect(() =>
      strict.eval('graphql.parse(input.q, input.s)', { q: '{ employee { id } }', s: schema }),
    ).toThrow(
      /argument "id" of type "String!" is required, but it was not provided in GraphQL query string at location 1:3/,
    );
  });
  it('accepts ASTs as well as strings', () => {
    expect(
      x('graphql.is_valid(graphql.parse_query(input.q), graphql.parse_schema(input.s))', {
        q: '{ employee(id: "1") { id } }',
        s: schema,
      }),
    ).toBe(true);
  });
});
