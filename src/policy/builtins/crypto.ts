/** crypto.* hashes and HMACs, uuid.*. */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { RObject } from '../value.js';
import { register } from './registry.js';
import { fail, str } from './util.js';

for (const [name, alg] of [
  ['crypto.sha256', 'sha256'],
  ['crypto.sha1', 'sha1'],
  ['crypto.md5', 'md5'],
] as const) {
  register(name, (a) =>
    createHash(alg)
      .update(str(name, a, 0), 'utf8')
      .digest('hex'),
  );
}
for (const alg of ['md5', 'sha1', 'sha256', 'sha512'] as const) {
  const name = `crypto.hmac.${alg}`;
  register(name, (a) =>
    createHmac(alg, Buffer.from(str(name, a, 1), 'utf8'))
      .update(str(name, a, 0), 'utf8')
      .digest('hex'),
  );
}
register('crypto.hmac.equal', (a) => {
  const x = Buffer.from(str('crypto.hmac.equal', a, 0));
  const y = Buffer.from(str('crypto.hmac.equal', a, 1));
  return x.length === y.length && timingSafeEqual(x, y);
});

register('uuid.rfc4122', (a, ctx) => {
  const key = 'uuid:' + str('uuid.rfc4122', a, 0);
  const hit = ctx.cache.get(key);
  if (typeof hit === 'string') return hit;
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  ctx.cache.set(key, id);
  return id;
});
register('uuid.parse', (a) => {
  const s = str('uuid.parse', a, 0)
    .toLowerCase()
    .replace(/^urn:uuid:/, '')
    .replace(/^\{(.*)\}$/, '$1');
  if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/.test(s)) return undefined;
  const h = s.replace(/-/g, '');
  const version = parseInt(h[12], 16);
  const vbits = parseInt(h[16], 16);
  const variant =
    (vbits & 0x8) === 0
      ? 'Reserved, NCS backward compatibility.'
      : (vbits & 0xc) === 0x8
        ? 'RFC4122'
        : (vbits & 0xe) === 0xc
          ? 'Reserved, Microsoft Corporation backward compatibility.'
          : 'Reserved for future definition.';
  const o = new RObject();
  o.set('version', version);
  o.set('variant', variant);
  if (version === 1 || version === 2) {
    const time =
      (BigInt('0x' + h.slice(13, 16)) << 48n) |
      (BigInt('0x' + h.slice(8, 12)) << 32n) |
      BigInt('0x' + h.slice(0, 8));
    o.set('time', Number((time - 122192928000000000n) * 100n));
    o.set('clocksequence', parseInt(h.slice(16, 20), 16) & 0x3fff);
    o.set('nodeid', h.slice(20).match(/../g)!.join('-'));
    if (version === 2) {
      o.set('id', parseInt(h.slice(0, 8), 16));
      o.set(
        'domain',
        ['Person', 'Group', 'Org'][parseInt(h.slice(18, 20), 16)] ?? 'Domain' + parseInt(h.slice(18, 20), 16),
      );
    }
  }
  void fail;
  return o;
});
