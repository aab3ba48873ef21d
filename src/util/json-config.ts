import { readFileSync } from 'node:fs';
import { errnoCode } from '../errors.js';

/**
 * A small configuration file's text, or undefined where there is none (ENOENT). Larger than `max`
 * bytes, or unreadable: `invalid` throws the room's error with the reason.
 */
export function readConfigText(
  file: string,
  max: number,
  invalid: (why: string) => never,
): string | undefined {
  let b: Buffer;
  try {
    b = readFileSync(file);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    invalid((e as Error).message);
  }
  if (b.length > max) invalid(`larger than ${max} bytes`);
  return b.toString('utf8');
}

/**
 * A small JSON configuration file's text as an object holding only the fields it may have. Each
 * room keeps its own error: `invalid` throws it with the reason (not JSON, not an object, an
 * unknown field named).
 */
export function configObject(
  text: string,
  known: readonly string[],
  invalid: (why: string) => never,
): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    invalid(`not JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) invalid('not a JSON object');
  const o = j as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!known.includes(k)) invalid(`unknown field ${JSON.stringify(k)}`);
  return o;
}
