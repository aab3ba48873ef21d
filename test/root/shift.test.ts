/** Shifted ownership (root only: it chowns). */
import { describe, expect, it } from 'vitest';
import {
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { shiftOwnership } from '../../src/userns/shift.js';
import type { MoatError } from '../../src/errors.js';

const map = [{ containerID: 0, hostID: 500000, size: 65536 }];

describe('shiftOwnership', () => {
  it('moves every owner into the range and keeps set-user-ID bits', () => {
    if (process.getuid?.() !== 0) throw new Error('run as root (npm run test:root)');
    const d = mkdtempSync(path.join(tmpdir(), 'moat-shift-'));
    mkdirSync(path.join(d, 'home'));
    writeFileSync(path.join(d, 'home', 'f'), 'x');
    chownSync(path.join(d, 'home', 'f'), 1000, 1001);
    writeFileSync(path.join(d, 'suid'), 'x');
    chmodSync(path.join(d, 'suid'), 0o4755);
    symlinkSync('home/f', path.join(d, 'link'));
    const { entries } = shiftOwnership(d, map, map);
    expect(entries).toBe(5);
    const st = (p: string) => lstatSync(path.join(d, p));
    expect([st('').uid, st('').gid]).toEqual([500000, 500000]);
    expect([st('home/f').uid, st('home/f').gid]).toEqual([501000, 501001]);
    expect(st('suid').mode & 0o7777).toBe(0o4755);
    expect(st('link').uid).toBe(500000);
  });

  it('shifts a file with several hard links once', () => {
    const d = mkdtempSync(path.join(tmpdir(), 'moat-shift-'));
    writeFileSync(path.join(d, 'perl'), 'x');
    chownSync(path.join(d, 'perl'), 0, 0);
    linkSync(path.join(d, 'perl'), path.join(d, 'perl5.36'));
    linkSync(path.join(d, 'perl'), path.join(d, 'perl-again'));
    shiftOwnership(d, map, map);
    for (const f of ['perl', 'perl5.36', 'perl-again'])
      expect([lstatSync(path.join(d, f)).uid, lstatSync(path.join(d, f)).gid]).toEqual([500000, 500000]);
  });

  it('refuses owners the mapping does not cover', () => {
    const d = mkdtempSync(path.join(tmpdir(), 'moat-shift-'));
    writeFileSync(path.join(d, 'f'), 'x');
    chownSync(path.join(d, 'f'), 70000, 0);
    const err = (() => {
      try {
        shiftOwnership(d, map, map);
      } catch (e) {
        return e as MoatError;
      }
      return undefined;
    })();
    expect(err?.code).toBe('USERNS_SETUP_FAILED');
    expect(err?.message).toMatch(/70000/);
  });
});
