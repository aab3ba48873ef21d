/** rego.* — parse_module (loads the parser) and the metadata functions the compiler replaces. */
import { moduleToValue } from '../ast-json.js';
import { RegoError } from '../errors.js';
import { parseModule } from '../parser.js';
import { RObject } from '../value.js';
import { register } from './registry.js';
import { fail, str } from './util.js';

// ---------------------------------------------------------------- rego.*

// Inside rules the compiler replaces these with the rule's annotations; in a query there are none.
register('rego.metadata.rule', () => new RObject());
register('rego.metadata.chain', () => []);
register('rego.parse_module', (a) => {
  const file = str('rego.parse_module', a, 0);
  const text = str('rego.parse_module', a, 1);
  // v1 syntax first; modules written for OPA 0.x (no `if`) still parse
  try {
    return moduleToValue(parseModule(text, file, { regoVersion: 1 }));
  } catch (e) {
    try {
      return moduleToValue(parseModule(text, file, { regoVersion: 0 }));
    } catch {
      const err = e as RegoError;
      if (!(err instanceof RegoError)) throw e;
      const l = err.location;
      fail('rego.parse_module', `${l ? `${l.file}:${l.row}: ` : ''}${err.code}: ${err.message}`);
    }
  }
});
