/** docker/go-units' sizes: the values compared are what Go's fmt and go-units print. */
import { describe, expect, it } from 'vitest';
import { bytesSize, goG, humanSize3, humanSize4 } from '../../../src/util/go-units.js';

describe('Go’s %g', () => {
  it('fixed or exponent notation, trailing zeros dropped (printed by go 1.22)', () => {
    const cases: [number, string, string][] = [
      [0, '0', '0'],
      [1.5, '1.5', '1.5'],
      [64, '64', '64'],
      [7.7739, '7.774', '7.77'],
      [999.999, '1000', '1e+03'],
      [1023.9, '1024', '1.02e+03'],
      [0.0001234, '0.0001234', '0.000123'],
      [0.00001234, '1.234e-05', '1.23e-05'],
      [123456, '1.235e+05', '1.23e+05'],
      [12.345, '12.35', '12.3'],
      [9.9996, '10', '10'],
    ];
    for (const [v, g4, g3] of cases) expect([goG(v, 4), goG(v, 3)], String(v)).toEqual([g4, g3]);
  });
});

describe('go-units', () => {
  it('BytesSize (memory): binary units, 4 significant digits', () => {
    expect(bytesSize(0)).toBe('0B');
    expect(bytesSize(1023)).toBe('1023B');
    expect(bytesSize(1536 * 1024)).toBe('1.5MiB');
    expect(bytesSize(64 * 2 ** 20)).toBe('64MiB');
    expect(bytesSize(8_347_000_000)).toBe('7.774GiB');
  });

  it('HumanSizeWithPrecision 3 (I/O) and HumanSize (disk usage): decimal units', () => {
    expect(humanSize3(0)).toBe('0B');
    expect(humanSize3(1234)).toBe('1.23kB');
    expect(humanSize3(999_999)).toBe('1e+03kB'); // as docker prints it
    expect(humanSize3(101_000_000)).toBe('101MB');
    expect(humanSize4(16_430_000)).toBe('16.43MB');
    expect(humanSize4(212)).toBe('212B');
  });
});
