/** is_*, type_name and the deprecated cast_* functions. */
import { operandError } from '../errors.js';
import { RObject, RSet, typeName } from '../value.js';
import { register } from './registry.js';

register('is_number', ([v]) => typeof v === 'number');
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
register('cast_string', ([v]) => (typeof v === 'string' ? v : undefined));
register('cast_boolean', ([v]) => (typeof v === 'boolean' ? v : undefined));
register('cast_null', ([v]) => (v === null ? null : undefined));
register('cast_object', ([v]) => (v instanceof RObject ? v : undefined));
