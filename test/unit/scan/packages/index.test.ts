import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PACKAGE_PARSERS_ALL } from '../../../../src/scan/packages/index.js';

const byName = (n: string) => PACKAGE_PARSERS_ALL.find((p) => p.name === n)!;
const exec = { mode: 0o100755, size: 1 << 20 };
const plain = { mode: 0o100644, size: 1000 };

describe('PACKAGE_PARSERS_ALL', () => {
  it('routes each database to one parser', () => {
    const route = (path: string, entry = plain): string[] =>
      PACKAGE_PARSERS_ALL.filter((p) => p.wants(path, entry)).map((p) => p.name);
    expect(new Set(PACKAGE_PARSERS_ALL.map((p) => p.name)).size).toBe(PACKAGE_PARSERS_ALL.length);
    expect(route('var/lib/dpkg/status')).toEqual(['dpkg']);
    expect(route('var/lib/dpkg/status.d/libc6')).toEqual(['dpkg']);
    expect(route('lib/apk/db/installed')).toEqual(['apk']);
    expect(route('app/package-lock.json')).toEqual(['npm-lock']);
    expect(route('app/node_modules/@types/node/package.json')).toEqual(['npm-package-json']);
    expect(route('usr/lib/python3/dist-packages/six-1.16.0.egg-info')).toEqual(['python']);
    expect(route('usr/local/bin/app', exec)).toEqual(['golang']);
    expect(route('opt/app.jar')).toEqual(['java']);
    expect(route('etc/passwd')).toEqual([]);
  });

  it('no parser throws, whatever the bytes', () => {
    const notes: string[] = [];
    const seeds = [
      Buffer.alloc(0),
      Buffer.from('\x7fELF'),
      Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01'), randomBytes(5000)]),
      Buffer.concat([Buffer.from('PK\x03\x04'), randomBytes(5000)]),
      Buffer.from('{"packages": {"node_modules/x": null}, "dependencies": [1]}'),
      Buffer.from('\0moat-extract:golang\n{"goVersion": 1}'),
      Buffer.from('\0moat-extract:java\n[[1,2,3],["a","b"]]'),
      deflateRawSync(randomBytes(1000)),
    ];
    for (let i = 0; i < 40; i++) seeds.push(randomBytes(1 + ((i * 7919) % 20000)));
    for (const p of PACKAGE_PARSERS_ALL) {
      for (const s of seeds) {
        expect(() => p.parse(s, 'x', { layer: 'l', notes })).not.toThrow();
        expect(Array.isArray(p.parse(s, 'x', { layer: 'l' }))).toBe(true);
        expect(() => p.extract?.(s, 'x')).not.toThrow();
      }
    }
  });
});

// What the walker keeps of a large file: a small digest that parses to the same packages.
const RUNC = '/usr/sbin/runc';
const ESBUILD = resolve('node_modules/@esbuild/linux-x64/bin/esbuild');
describe('extract: the digest kept instead of the file', () => {
  for (const bin of [RUNC, ESBUILD]) {
    it.skipIf(!existsSync(bin))(`golang: ${bin}`, () => {
      const go = byName('golang');
      const full = readFileSync(bin);
      const kept = go.extract!(full, 'x')!;
      expect(kept.length).toBeLessThan(16 * 1024);
      expect(go.parse(kept, 'usr/bin/x', { layer: 'l' })).toEqual(
        go.parse(full, 'usr/bin/x', { layer: 'l' }),
      );
      expect(go.extract!(readFileSync('/bin/sh'), 'x')).toBeUndefined();
    });
  }
});
