/** providers.aws.sign_req: AWS Signature Version 4 for an http.send request object (node:crypto). */
import { createHash, createHmac } from 'node:crypto';
import { BuiltinError } from '../errors.js';
import { RObject, isNumber, stringify, type Value } from '../value.js';
import { register } from './registry.js';
import { obj } from './util.js';

const FN = 'providers.aws.sign_req';

function typeErr(msg: string): never {
  throw new BuiltinError(`${FN}: ${msg}`, 'type');
}

/** Checks that `keys` are present (else "missing") and strings (else "invalid values"). */
function required(o: RObject, keys: string[], operand: number, what: string): Record<string, string> {
  const missing = keys.filter((k) => o.get(k) === undefined);
  if (missing.length)
    typeErr(
      `operand ${operand} missing required ${what} parameters(s): {${missing.map((k) => JSON.stringify(k)).join(', ')}}`,
    );
  const bad = keys.filter((k) => typeof o.get(k) !== 'string');
  if (bad.length)
    typeErr(
      `operand ${operand} invalid values for required ${what} parameters(s): {${bad.map((k) => JSON.stringify(k)).join(', ')}}`,
    );
  return Object.fromEntries(keys.map((k) => [k, o.get(k) as string]));
}

const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
const hmac = (key: string | Buffer, s: string): Buffer =>
  createHmac('sha256', key).update(s, 'utf8').digest();

/** RFC 3986 encoding as AWS wants it (unreserved characters kept). */
function awsEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

register(FN, (a) => {
  const req = obj(FN, a, 0);
  const cfg = obj(FN, a, 1);
  const t = a[2];
  const r = required(req, ['method', 'url'], 1, 'request');
  const c = required(
    cfg,
    ['aws_access_key', 'aws_region', 'aws_secret_access_key', 'aws_service'],
    2,
    'AWS config',
  );
  if (!isNumber(t) || t < 0) typeErr('operand 3 could not convert time_ns value into a unix timestamp');
  const token = cfg.get('aws_session_token');
  const date = new Date(Number(BigInt(typeof t === 'bigint' ? t : Math.trunc(t)) / 1000000n));
  const amzDate = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);

  const raw = req.get('raw_body');
  const body = req.get('body');
  const payload = typeof raw === 'string' ? raw : body !== undefined ? stringify(body) : '';
  const payloadHash = sha256(payload);

  const url = new URL(r.url);
  const headers = new Map<string, string>();
  const given = req.get('headers');
  if (given instanceof RObject)
    for (const [k, v] of given.sortedEntries())
      headers.set(String(k).toLowerCase(), typeof v === 'string' ? v : stringify(v as Value));
  headers.set('host', url.host);
  headers.set('x-amz-date', amzDate);
  if (typeof token === 'string' && token) headers.set('x-amz-security-token', token);
  const service = c.aws_service;
  if (service === 's3' || service === 'glacier') headers.set('x-amz-content-sha256', payloadHash);

  const names = [...headers.keys()].sort();
  const signed = names.join(';');
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [awsEncode(k), awsEncode(v)])
    .sort((x, y) => (x[0] === y[0] ? (x[1] < y[1] ? -1 : 1) : x[0] < y[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  // as OPA does: the escaped path as written (empty when there is none) and the method as given
  const path = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(r.url)?.[1] ?? url.pathname;
  const canonical = [
    r.method,
    path,
    query,
    names.map((n) => `${n}:${headers.get(n)!.trim().replace(/\s+/g, ' ')}\n`).join(''),
    signed,
    payloadHash,
  ].join('\n');
  const scope = `${day}/${c.aws_region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac('AWS4' + c.aws_secret_access_key, day);
  key = hmac(key, c.aws_region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');

  const outHeaders = new RObject();
  for (const n of names) outHeaders.set(n, headers.get(n)!);
  outHeaders.set(
    'Authorization',
    `AWS4-HMAC-SHA256 Credential=${c.aws_access_key}/${scope},SignedHeaders=${signed},Signature=${signature}`,
  );
  const out = req.clone();
  out.set('headers', outHeaders);
  return out;
});
