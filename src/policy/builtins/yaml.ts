/** yaml.* — its own family so that js-yaml is loaded only by policies that use it. */
import yaml from 'js-yaml';
import { fromJSON, toJSON } from '../value.js';
import { register } from './registry.js';
import { fail, str } from './util.js';

register('yaml.marshal', ([v]) => yaml.dump(toJSON(v), { sortKeys: true, lineWidth: -1 }));
register('yaml.unmarshal', (a) => {
  const s = str('yaml.unmarshal', a, 0);
  try {
    return fromJSON(yaml.load(s, { schema: yaml.JSON_SCHEMA }) ?? null);
  } catch (e) {
    fail('yaml.unmarshal', yamlError(s, e as Error & { reason?: string; mark?: { line: number } }));
  }
});

/** go-yaml's wording (`yaml: line N: …`) for js-yaml's errors. */
function yamlError(text: string, e: Error & { reason?: string; mark?: { line: number } }): string {
  const reason = e.reason ?? e.message.split('\n')[0];
  if (/flow collection/.test(reason)) {
    const open = text.search(/[[{]/);
    const line = open < 0 ? 1 : text.slice(0, open).split('\n').length;
    return `yaml: line ${line}: did not find expected ',' or '${text[open] === '{' ? '}' : ']'}'`;
  }
  return `yaml: line ${(e.mark?.line ?? 0) + 1}: ${reason}`;
}
register('yaml.is_valid', (a) => {
  try {
    yaml.load(str('yaml.is_valid', a, 0));
    return true;
  } catch {
    return false;
  }
});
