/** --detach-keys: parsing a value into bytes, and the scanner that watches typed bytes for them. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/cli/errors.js';
import {
  DEFAULT_DETACH_KEYS,
  DetachScanner,
  parseDetachKeys,
} from '../../../../src/cli/terminal/detach-keys.js';

const bytes = (b: Buffer) => [...b];

describe('parseDetachKeys', () => {
  it('reads ctrl- keys and single characters, separated by commas', () => {
    expect(bytes(parseDetachKeys(DEFAULT_DETACH_KEYS))).toEqual([0x10, 0x11]);
    expect(bytes(parseDetachKeys('ctrl-x'))).toEqual([0x18]);
    expect(bytes(parseDetachKeys('ctrl-a,ctrl-z'))).toEqual([1, 26]);
    expect(bytes(parseDetachKeys('CTRL-P,Ctrl-Q'))).toEqual([0x10, 0x11]);
    expect(bytes(parseDetachKeys(' ctrl-p , q '))).toEqual([0x10, 0x71]);
    expect(bytes(parseDetachKeys('a,:,~'))).toEqual([0x61, 0x3a, 0x7e]);
    expect(bytes(parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_'))).toEqual([
      0, 27, 28, 29, 30, 31,
    ]);
  });

  it('an empty value turns detaching off', () => {
    expect(parseDetachKeys('')).toHaveLength(0);
  });

  it('refuses anything else as a usage error naming the key', () => {
    for (const [spec, key] of [
      ['ctrl-1', 'ctrl-1'],
      ['ctrl-', 'ctrl-'],
      ['ctrl-pq', 'ctrl-pq'],
      ['ab', 'ab'],
      ['ctrl-p,', ''],
      [',', ''],
      ['ctrl-p,,ctrl-q', ''],
      ['é', 'é'],
      ['\t', ''],
      ['shift-a', 'shift-a'],
    ]) {
      let err: unknown;
      try {
        parseDetachKeys(spec);
      } catch (e) {
        err = e;
      }
      expect(err, spec).toBeInstanceOf(UsageError);
      expect((err as UsageError).code).toBe('CLI_USAGE');
      expect((err as UsageError).message).toBe(`invalid --detach-keys "${spec}": "${key}" is not a key`);
      expect((err as UsageError).hint).toMatch(/ctrl-p,ctrl-q/);
    }
  });
});

describe('DetachScanner', () => {
  const pq = () => new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
  const feed = (s: DetachScanner, str: string) => {
    const r = s.feed(Buffer.from(str, 'latin1'));
    return { pass: r.pass.toString('latin1'), detach: r.detach };
  };

  it('passes ordinary input through unchanged', () => {
    const s = pq();
    expect(feed(s, 'ls -l\r')).toEqual({ pass: 'ls -l\r', detach: false });
    expect(feed(s, '\x03\x1a\x04')).toEqual({ pass: '\x03\x1a\x04', detach: false });
    expect(feed(s, '')).toEqual({ pass: '', detach: false });
  });

  it('detaches on the whole sequence, passing what came before and none of the keys', () => {
    expect(feed(pq(), '\x10\x11')).toEqual({ pass: '', detach: true });
    expect(feed(pq(), 'echo hi\x10\x11')).toEqual({ pass: 'echo hi', detach: true });
    // what follows the sequence in the same chunk is not passed on (the client stops reading)
    expect(feed(pq(), 'ab\x10\x11cd')).toEqual({ pass: 'ab', detach: true });
  });

  it('holds a possible start back across chunks', () => {
    const s = pq();
    expect(feed(s, 'x\x10')).toEqual({ pass: 'x', detach: false });
    expect(feed(s, '\x11')).toEqual({ pass: '', detach: true });
    const t = pq();
    for (const c of 'abc') expect(feed(t, c)).toEqual({ pass: c, detach: false });
    expect(feed(t, '\x10')).toEqual({ pass: '', detach: false });
    expect(feed(t, '\x11')).toEqual({ pass: '', detach: true });
  });

  it('lets held bytes through, in order, when the sequence is broken', () => {
    const s = pq();
    expect(feed(s, '\x10')).toEqual({ pass: '', detach: false });
    expect(feed(s, 'a')).toEqual({ pass: '\x10a', detach: false });
    expect(feed(pq(), '\x10a\x11')).toEqual({ pass: '\x10a\x11', detach: false });
    expect(feed(pq(), '\x11\x10b')).toEqual({ pass: '\x11\x10b', detach: false });
    // Ctrl-P Ctrl-P: the first goes through, the second may start the sequence
    const t = pq();
    expect(feed(t, '\x10\x10')).toEqual({ pass: '\x10', detach: false });
    expect(feed(t, '\x11')).toEqual({ pass: '', detach: true });
    expect(feed(pq(), '\x10\x10\x11')).toEqual({ pass: '\x10', detach: true });
  });

  it('finds a sequence that overlaps a broken start of itself', () => {
    const s = new DetachScanner(parseDetachKeys('a,a,b'));
    expect(feed(s, 'aaab')).toEqual({ pass: 'a', detach: true });
    const t = new DetachScanner(parseDetachKeys('a,b,a,c'));
    expect(feed(t, 'ababac')).toEqual({ pass: 'ab', detach: true });
    const u = new DetachScanner(parseDetachKeys('a,b,a,c'));
    expect(feed(u, 'aba')).toEqual({ pass: '', detach: false });
    expect(feed(u, 'b')).toEqual({ pass: 'ab', detach: false });
    expect(feed(u, 'ax')).toEqual({ pass: 'abax', detach: false });
  });

  it('a single key detaches at once', () => {
    const s = new DetachScanner(parseDetachKeys('ctrl-x'));
    expect(feed(s, 'ab')).toEqual({ pass: 'ab', detach: false });
    expect(feed(s, 'c\x18d')).toEqual({ pass: 'c', detach: true });
    // Ctrl-P Ctrl-Q is then ordinary input
    expect(feed(new DetachScanner(parseDetachKeys('ctrl-x')), '\x10\x11')).toEqual({
      pass: '\x10\x11',
      detach: false,
    });
  });

  it('with no keys, passes everything', () => {
    const s = new DetachScanner(parseDetachKeys(''));
    expect(feed(s, '\x10\x11\x18')).toEqual({ pass: '\x10\x11\x18', detach: false });
  });
});
