/** is_*, type_name and the deprecated cast_* functions. */
import { operandError } from '../errors.js';
import { RObject, RSet, typeName } from '../value.js';
import { register } from './registry.js';

register('is_number', ([v]) => typeof v === 'number' || typeof v === 'bigint');
register('is_string', ([v]) => typeof v === 'string');
register('is_boolean', ([v]) => typeof v === 'boolean');
register('is_array', ([v]) => Array.isArray(v));
register('is_set', ([v]) => v instanceof RSet);
register('is_object', ([v]) => v instanceof RObject);
register('is_null', ([v]) => v === null);
register('type_name', ([v]) => typeName(v));

register('cast_array', ([v]) => {
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v.sorted();
  throw operandError('cast_array', 1, 'one of {array, set}', typeName(v));
});
register('cast_set', ([v]) => {
  if (v instanceof RSet) return v;
  if (Array.isArray(v)) return RSet.from(v);
  throw operandError('cast_set', 1, 'one of {array, set}', typeName(v));
});
function cast(name: string, want: string, ok: (v: unknown) => boolean): void {
  register(name, ([v]) => {
    if (!ok(v)) throw operandError(name, 1, want, typeName(v));
    return v;
  });
}
cast('cast_string', 'string', (v) => typeof v === 'string');
cast('cast_boolean', 'boolean', (v) => typeof v === 'boolean');
cast('cast_null', 'null', (v) => v === null);
cast('cast_object', 'object', (v) => v instanceof RObject);
