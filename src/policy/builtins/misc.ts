/** units.*, trace, opa.runtime. */
import { isIP } from 'node:net';
import { BuiltinError, operandError } from '../errors.js';
import { RObject, RSet, typeName, type Value } from '../value.js';
import { register } from './registry.js';
import { fail, str } from './util.js';

function splitAmount(fn: string, raw: string): [number, string] {
  const s = raw.replace(/"/g, '');
  if (/\s/.test(s)) fail(fn, 'spaces not allowed in resource strings');
  const m = /^([0-9.]*)(.*)$/.exec(s)!;
  if (m[1] === '') fail(fn, fn === 'units.parse' ? 'no amount provided' : 'no byte amount provided');
  if (!/^(\d+\.?\d*|\.\d+)$/.test(m[1]))
    fail(
      fn,
      fn === 'units.parse' ? 'could not parse amount to a number' : 'could not parse byte amount to a number',
    );
  return [Number(m[1]), m[2]];
}

const UNITS: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  K: 1e3,
  ki: 2 ** 10,
  Ki: 2 ** 10,
  M: 1e6,
  mi: 2 ** 20,
  Mi: 2 ** 20,
  g: 1e9,
  G: 1e9,
  gi: 2 ** 30,
  Gi: 2 ** 30,
  t: 1e12,
  T: 1e12,
  ti: 2 ** 40,
  Ti: 2 ** 40,
  p: 1e15,
  P: 1e15,
  pi: 2 ** 50,
  Pi: 2 ** 50,
  e: 1e18,
  E: 1e18,
  ei: 2 ** 60,
  Ei: 2 ** 60,
};
register('units.parse', (a) => {
  const [n, raw] = splitAmount('units.parse', str('units.parse', a, 0));
  // only the letters after the first are case-insensitive, so 'm' (milli) and 'M' (mega) differ
  const unit = raw.length > 1 ? raw[0] + raw.slice(1).toLowerCase() : raw;
  const mult = UNITS[unit];
  if (mult === undefined) fail('units.parse', `unit ${raw} not recognized`);
  const r = n * mult;
  return Number.isInteger(r) ? r : Number(r.toPrecision(15));
});

const BYTES: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  ki: 2 ** 10,
  kib: 2 ** 10,
  m: 1e6,
  mb: 1e6,
  mi: 2 ** 20,
  mib: 2 ** 20,
  g: 1e9,
  gb: 1e9,
  gi: 2 ** 30,
  gib: 2 ** 30,
  t: 1e12,
  tb: 1e12,
  ti: 2 ** 40,
  tib: 2 ** 40,
  p: 1e15,
  pb: 1e15,
  pi: 2 ** 50,
  pib: 2 ** 50,
  e: 1e18,
  eb: 1e18,
  ei: 2 ** 60,
  eib: 2 ** 60,
};
register('units.parse_bytes', (a) => {
  const [n, unit] = splitAmount('units.parse_bytes', str('units.parse_bytes', a, 0));
  const mult = BYTES[unit.toLowerCase()];
  if (mult === undefined) fail('units.parse_bytes', `byte unit ${unit} not recognized`);
  return Math.floor(n * mult);
});

register('trace', (a, ctx) => {
  ctx.trace(str('trace', a, 0));
  return true;
});
// Unlike OPA, the process environment is not exposed to policies (it may hold secrets).
register('opa.runtime', () => new RObject());

const HTTP_KEYS = new Set([
  'method',
  'url',
  'body',
  'enable_redirect',
  'force_json_decode',
  'force_yaml_decode',
  'headers',
  'raw_body',
  'tls_use_system_certs',
  'tls_ca_cert',
  'tls_ca_cert_file',
  'tls_ca_cert_env_variable',
  'tls_client_cert',
  'tls_client_cert_file',
  'tls_client_cert_env_variable',
  'tls_client_key',
  'tls_client_key_file',
  'tls_client_key_env_variable',
  'tls_insecure_skip_verify',
  'tls_server_name',
  'timeout',
  'cache',
  'force_cache',
  'force_cache_duration_seconds',
  'raise_error',
  'caching_mode',
  'max_retry_attempts',
  'cache_ignored_headers',
]);
// Policies run on moat's request path and must not make network calls; http.send exists so tests can mock it.
register('http.send', (a) => {
  const req = a[0];
  if (!(req instanceof RObject)) throw new BuiltinError('http.send: operand 1 must be object', 'type');
  const bad = req.keys().filter((k) => typeof k !== 'string' || !HTTP_KEYS.has(k));
  if (bad.length)
    throw new BuiltinError(
      `http.send: invalid request parameters(s): {${bad.map((k) => JSON.stringify(k)).join(', ')}}`,
      'type',
    );
  const missing = ['method', 'url'].filter((k) => !req.has(k));
  if (missing.length)
    throw new BuiltinError(
      `http.send: missing required request parameters(s): {${missing.map((k) => JSON.stringify(k)).join(', ')}}`,
      'type',
    );
  fail('http.send', 'network access is disabled in moat policies (mock it with `with http.send as ...`)');
});
// No DNS on the request path: IP literals resolve to themselves, "localhost" to the loopback address.
register('net.lookup_ip_addr', (a) => {
  const name = str('net.lookup_ip_addr', a, 0);
  if (isIP(name)) return RSet.from([name]);
  if (name === 'localhost') return RSet.from(['127.0.0.1']);
  fail('net.lookup_ip_addr', 'network access is disabled in moat policies');
});

// ---------------------------------------------------------------- graph

function neighbours(fn: string, graph: RObject, node: Value): Value[] {
  const e = graph.get(node);
  if (e === undefined || e === null) return [];
  if (Array.isArray(e)) return e;
  if (e instanceof RSet) return e.sorted();
  throw new BuiltinError(
    `${fn}: operand 1 must be object[any: any<array[any], set[any]>] but got object`,
    'type',
  );
}
function graphArgs(fn: string, a: Value[]): [RObject, Value[]] {
  const g = a[0];
  if (!(g instanceof RObject)) throw operandError(fn, 1, 'object', typeName(g));
  for (const [, v] of g.sortedEntries())
    if (!(Array.isArray(v) || v instanceof RSet || v === null))
      throw new BuiltinError(
        `${fn}: operand 1 must be object[any: any<array[any], set[any]>] but got object`,
        'type',
      );
  const init = a[1];
  const xs = Array.isArray(init) ? init : init instanceof RSet ? init.sorted() : undefined;
  if (!xs) throw operandError(fn, 2, 'one of {array, set}', typeName(init));
  return [g, xs];
}
register('graph.reachable', (a) => {
  const [g, start] = graphArgs('graph.reachable', a);
  const seen = new RSet();
  const queue = [...start];
  while (queue.length) {
    const n = queue.shift()!;
    if (seen.has(n) || !g.has(n)) continue;
    seen.add(n);
    queue.push(...neighbours('graph.reachable', g, n));
  }
  return seen;
});
register('graph.reachable_paths', (a) => {
  const fn = 'graph.reachable_paths';
  const [g, start] = graphArgs(fn, a);
  const out = new RSet();
  // A port of OPA's pathBuilder, quirks included: `reached` is per starting edge and is marked
  // when a node is left, and `paths` accumulates within one call.
  const build = (root: Value, path: Value[], reached: RSet): void => {
    const paths: Value[] = [];
    const edges = g.get(root);
    if (edges === undefined) {
      paths.push(...path);
      out.add([...paths]);
      return;
    }
    const here = [...path, root];
    const ns = neighbours(fn, g, root);
    if (!ns.length) {
      paths.push(...here);
      out.add([...paths]);
      return;
    }
    for (const n of ns) {
      if (reached.has(n)) {
        paths.push(...here);
        out.add([...paths]);
      } else {
        reached.add(root);
        build(n, here, reached);
      }
    }
  };
  for (const node of start) {
    if (g.get(node) === undefined) continue;
    const ns = neighbours(fn, g, node);
    if (!ns.length) out.add([node]);
    for (const n of ns) build(n, [node], RSet.from([node]));
  }
  return out;
});
