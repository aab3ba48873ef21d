/** The router's JSON-schema paths, in the words of the CLI's flags. */
import { describe, expect, it } from 'vitest';
import { translateSchemaError, pointerValue } from '../../../src/cli/schema-errors.js';
import { ApiError } from '../../../src/api/errors.js';
import { MoatError } from '../../../src/errors.js';

const invalid = (errors: string[]) =>
  new ApiError('API_INVALID_REQUEST', `invalid request: ${errors.join('; ')}`, { details: { errors } });

describe('translateSchemaError', () => {
  it('names the flag and its value', () => {
    const body = { options: { env: ['x', 'A=1'], user: 'a b' } };
    const e = translateSchemaError(
      invalid(['/options/env/0 must match pattern "^[^=]+="', '/options/user must match pattern "^..."']),
      body,
    ) as MoatError;
    expect(e.code).toBe('CLI_USAGE');
    expect(e.message).toBe(
      '-e/--env "x": must be KEY=VALUE (or KEY, to pass on your own value); -u/--user "a b": must be a UID or a user name, optionally followed by :GID or :group',
    );
  });

  it("exec's paths too", () => {
    const e = translateSchemaError(invalid(['/workdir must match pattern "^/"']), {
      workdir: 'rel',
    }) as MoatError;
    expect(e.message).toBe('-w/--workdir "rel": must be an absolute path');
  });

  it('leaves other errors, and paths it does not know, alone', () => {
    const other = new MoatError('RUNTIME_INVALID_STATE', 'x');
    expect(translateSchemaError(other, {})).toBe(other);
    const unknown = invalid(['/weird must be string']);
    expect(translateSchemaError(unknown, {})).toBe(unknown);
  });

  it('reads JSON pointers', () => {
    expect(pointerValue({ a: [{ 'b/c': 1 }] }, '/a/0/b~1c')).toBe(1);
    expect(pointerValue({ a: 1 }, '/a/b')).toBeUndefined();
  });
});
