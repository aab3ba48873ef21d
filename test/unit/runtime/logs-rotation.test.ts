/**
 * What a hostile container's output cannot do to its log (issue 11): grow it beyond the
 * container's output (a NUL byte was six bytes of JSON), grow it without end (max-size ×
 * max-file, rotation), make a line a reader must hold whole (16 KiB records), or make `--tail`
 * read the whole log.
 */
import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MoatError } from '../../../src/errors.js';
import {
  dockerLogConfig,
  LineSplitter,
  logConfigOf,
  logOptsFromFlags,
  parseLogOptions,
  printLogs,
} from '../../../src/runtime/logs/index.js';
import { FILE_HEADER, MAX_PAYLOAD, REC_OVERHEAD } from '../../../src/runtime/logs/format.js';
import { collector, newWriter, read, tmpLog } from './logs-helpers.js';

const MiB = 1024 * 1024;
/** The log's files and their total size. */
function files(dir: string): { names: string[]; total: number; sizes: number[] } {
  const names = readdirSync(dir).sort();
  const sizes = names.map((n) => statSync(path.join(dir, n)).size);
  return { names, sizes, total: sizes.reduce((a, b) => a + b, 0) };
}

describe('storage: the log is the output, not an encoding of it', () => {
  it('8 MiB of NUL bytes take 8 MiB and a little (the JSON-lines log took 48 MiB)', () => {
    const { dir, file } = tmpLog();
    const { writer } = newWriter(file);
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < 128; i++) writer.write('stdout', chunk);
    writer.end();
    const size = files(dir).total;
    expect(size).toBeGreaterThanOrEqual(8 * MiB);
    expect(size).toBeLessThanOrEqual(8 * MiB * (1 + REC_OVERHEAD / MAX_PAYLOAD) + FILE_HEADER);
  });

  it('a flood of empty lines is packed: the lines of one read share a record', () => {
    const { dir, file } = tmpLog();
    const { writer } = newWriter(file);
    for (let i = 0; i < 64; i++) writer.write('stdout', Buffer.alloc(64 * 1024, 10));
    writer.end();
    expect(files(dir).total).toBeLessThan(4 * MiB * 1.01 + FILE_HEADER);
  });
});

describe('the line cap: 16 KiB records', () => {
  it('LineSplitter packs whole lines, splits a long one into partial pieces, keeps an unfinished one', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('a\nb\nc'))).toEqual([{ payload: Buffer.from('a\nb\n'), partial: false }]);
    expect(s.push(Buffer.from('d\n'))).toEqual([{ payload: Buffer.from('cd\n'), partial: false }]);
    const long = s.push(Buffer.alloc(40_000, 0x61));
    expect(long.map((p) => [p.payload.length, p.partial])).toEqual([
      [MAX_PAYLOAD, true],
      [MAX_PAYLOAD, true],
    ]);
    const rest = Buffer.concat([Buffer.alloc(40_000 - 2 * MAX_PAYLOAD, 0x61), Buffer.from('\n')]);
    expect(s.push(Buffer.from('\n'))).toEqual([{ payload: rest, partial: false }]);
    expect(s.push(Buffer.from('no end'))).toEqual([]);
    expect(s.end()).toEqual([{ payload: Buffer.from('no end'), partial: false }]);
    expect(s.end()).toEqual([]);
  });

  it('a 1 MiB line is read back whole; --tail 1 is its last 16 KiB, as Docker counts split lines', async () => {
    const { file } = tmpLog();
    const { writer } = newWriter(file);
    const line = Buffer.alloc(MiB + 100, 0x7a);
    writer.write('stdout', line);
    writer.write('stdout', Buffer.from('\n'));
    writer.end();
    const all = await read(file, { follow: false });
    expect(all.outBytes.equals(Buffer.concat([line, Buffer.from('\n')]))).toBe(true);
    const last = await read(file, { follow: false, tail: 1 });
    expect(last.outBytes.length).toBeLessThanOrEqual(MAX_PAYLOAD + 1);
    expect(last.out.endsWith('z\n')).toBe(true);
  });

  it('--tail 1 of 40 MiB of NUL bytes without a newline reads from the end only', async () => {
    const { file } = tmpLog();
    const { writer } = newWriter(file, { maxSize: 64 * MiB, maxFile: 1 });
    const chunk = Buffer.alloc(MiB);
    for (let i = 0; i < 40; i++) writer.write('stdout', chunk);
    // Still running: the last piece is a partial record.
    const t0 = Date.now();
    const last = await read(file, { follow: false, tail: 1 });
    expect(Date.now() - t0).toBeLessThan(5000); // generous: it is milliseconds
    expect(last.outBytes.length).toBe(MAX_PAYLOAD);
    expect(last.outBytes.every((b) => b === 0)).toBe(true);
    writer.end();
  });
});

describe('rotation: max-size and max-file', () => {
  const lines = (from: number, to: number) =>
    Array.from(
      { length: to - from },
      (_, i) => `line ${String(from + i).padStart(6, '0')} ${'x'.repeat(90)}\n`,
    );

  it('keeps at most max-file files of at most max-size; reading them gives the newest lines, in order', async () => {
    const { dir, file } = tmpLog();
    const { writer } = newWriter(file, { maxSize: 64 * 1024, maxFile: 3 });
    const all = lines(0, 20_000); // ~2 MiB
    for (const l of all) writer.write('stdout', Buffer.from(l));
    writer.end();
    const f = files(dir);
    expect(f.names).toEqual(['container.log', 'container.log.1', 'container.log.2']);
    for (const s of f.sizes) expect(s).toBeLessThanOrEqual(64 * 1024);
    const out = (await read(file, { follow: false })).out;
    expect(out.length).toBeGreaterThan(2 * 60 * 1024); // two whole files and a part
    expect(all.join('').endsWith(out)).toBe(true); // the newest, contiguous, in order
    // --tail across the files: the last 1000 lines span more than the current file.
    expect((await read(file, { follow: false, tail: 1000 })).out).toBe(all.slice(-1000).join(''));
    expect((await read(file, { follow: false, tail: 1 })).out).toBe(all.at(-1));
  });

  it('max-file 1: the file is begun again at max-size', async () => {
    const { dir, file } = tmpLog();
    const { writer } = newWriter(file, { maxSize: 64 * 1024, maxFile: 1 });
    const all = lines(0, 5000);
    for (const l of all) writer.write('stdout', Buffer.from(l));
    writer.end();
    expect(files(dir).names).toEqual(['container.log']);
    expect(files(dir).total).toBeLessThanOrEqual(64 * 1024);
    const out = (await read(file, { follow: false })).out;
    expect(all.join('').endsWith(out)).toBe(true);
  });

  it('a follower goes on into each new file and misses nothing when it keeps up', async () => {
    const { file } = tmpLog();
    const { writer } = newWriter(file, { maxSize: 64 * 1024, maxFile: 2 });
    const out = collector();
    let running = true;
    const done = printLogs(
      file,
      { stdout: out.w, stderr: collector().w },
      {
        follow: true,
        stillRunning: async () => running,
        maxFile: 2,
      },
    );
    const all = lines(0, 3000); // ~300 KiB: several rotations
    for (let i = 0; i < all.length; i += 100) {
      for (const l of all.slice(i, i + 100)) writer.write('stdout', Buffer.from(l));
      await new Promise((r) => setTimeout(r, 120));
    }
    writer.end();
    running = false;
    await done;
    expect(out.text()).toBe(all.join(''));
  });

  it('a follower that fell behind goes on with the oldest file left, in order', async () => {
    const { file } = tmpLog();
    const { writer } = newWriter(file, { maxSize: 64 * 1024, maxFile: 2 });
    writer.write('stdout', Buffer.from('first\n'));
    const out = collector();
    let running = true;
    const done = printLogs(
      file,
      { stdout: out.w, stderr: collector().w },
      {
        follow: true,
        tail: 0,
        stillRunning: async () => running,
        maxFile: 2,
      },
    );
    await new Promise((r) => setTimeout(r, 150));
    // Many rotations between two polls: the follower's next file is gone.
    const all = lines(0, 4000);
    for (const l of all) writer.write('stdout', Buffer.from(l));
    writer.end();
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await done;
    // What was left of its file, then the oldest file left: lines lost between, none out of order.
    const got = out.text().split('\n').filter(Boolean);
    const numbers = got.map((l) => Number(/^line (\d+)/.exec(l)?.[1]));
    expect(numbers.length).toBeGreaterThan(100);
    expect(numbers.every((n, i) => i === 0 || n > numbers[i - 1])).toBe(true);
    expect(got.at(-1)).toBe(all.at(-1)!.trimEnd());
    expect(numbers.length).toBeLessThan(all.length);
  });

  it('a started-again container goes on in its log; bytes after the last whole record are cut', async () => {
    const { file } = tmpLog();
    const a = newWriter(file);
    a.writer.write('stdout', Buffer.from('run 1\n'));
    a.writer.end();
    appendFileSync(file, Buffer.from('half a record'));
    const b = newWriter(file);
    b.writer.write('stdout', Buffer.from('run 2\n'));
    b.writer.end();
    expect((await read(file, { follow: false })).out).toBe('run 1\nrun 2\n');
    // A file cut short from outside: the writer finds its last whole record.
    truncateSync(file, statSync(file).size - 3);
    const c = newWriter(file);
    c.writer.write('stdout', Buffer.from('run 3\n'));
    c.writer.end();
    expect((await read(file, { follow: false })).out).toBe('run 1\nrun 3\n');
  });
});

describe('nothing read can break the reader or the writer', () => {
  it('a damaged record ends the reading of its file; the reader does not throw', async () => {
    const { file } = tmpLog();
    const { writer } = newWriter(file);
    for (const l of ['a\n', 'b\n', 'c\n']) writer.write('stdout', Buffer.from(l));
    writer.end();
    const bytes = readFileSync(file);
    // The second record's length (at 32 + 18 + 2) made impossible.
    bytes.writeUInt32BE(0xffffff, FILE_HEADER + REC_OVERHEAD + 2);
    writeFileSync(file, bytes);
    expect((await read(file, { follow: false })).out).toBe('a\n');
    expect((await read(file, { follow: false, tail: 1 })).out).toBe('c\n');
    expect((await read(file, { follow: false, tail: 5 })).out).toBe('c\n');
  });

  it('garbage, a missing file, a directory: nothing is printed, nothing thrown', async () => {
    const { dir, file } = tmpLog();
    expect((await read(file, { follow: false, tail: 2 })).out).toBe('');
    writeFileSync(file, Buffer.from('\x00garbage that is no log at all\n'));
    expect((await read(file, { follow: false })).out).toBe('');
    expect((await read(dir, { follow: false, tail: 1 })).out).toBe('');
  });

  it('a writer that cannot open its file reports it once and drops the output', () => {
    const { dir } = tmpLog();
    const { writer, errors } = newWriter(path.join(dir, 'no', 'such', 'container.log'));
    writer.write('stdout', Buffer.from('lost\n'));
    writer.end();
    writer.write('stdout', Buffer.from('after the end\n'));
    expect(errors).toEqual(['cannot open the container log: its output is not kept']);
    expect(existsSync(path.join(dir, 'no'))).toBe(false);
  });
});

describe('log options', () => {
  const refused = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(MoatError);
      expect((e as MoatError).code).toBe('RUNTIME_INVALID_OPTION');
      return (e as MoatError).message;
    }
    throw new Error('accepted');
  };

  it('max-size and max-file as Docker writes them; defaults as Docker’s local driver', () => {
    expect(parseLogOptions(undefined, logOptsFromFlags(['max-size=10m', 'max-file=3']))).toEqual({
      maxSize: 10 * MiB,
      maxFile: 3,
    });
    expect(parseLogOptions('local', {})).toBeUndefined();
    expect(parseLogOptions('json-file', { 'max-size': '64k' })).toEqual({ maxSize: 64 * 1024 });
    expect(logConfigOf(undefined)).toEqual({ type: 'local', maxSize: 20 * MiB, maxFile: 5 });
    expect(dockerLogConfig(logConfigOf({ maxFile: 2 }))).toEqual({
      Type: 'local',
      Config: { 'max-size': '20m', 'max-file': '2' },
    });
  });

  it('other drivers and options are refused with what moat takes', () => {
    expect(refused(() => parseLogOptions('syslog', {}))).toMatch(
      /^--log-driver syslog is not supported by moat/,
    );
    expect(refused(() => parseLogOptions('none', {}))).toMatch(/always keeps a log/);
    expect(refused(() => parseLogOptions(undefined, { compress: 'true' }))).toBe(
      '--log-opt compress is not supported by moat',
    );
    expect(refused(() => parseLogOptions(undefined, { 'max-size': '1k' }))).toMatch(
      /below the minimum of 64k/,
    );
    expect(refused(() => parseLogOptions(undefined, { 'max-size': 'lots' }))).toMatch(/not a size/);
    expect(refused(() => parseLogOptions(undefined, { 'max-file': '0' }))).toMatch(/from 1 to 100/);
    expect(refused(() => parseLogOptions(undefined, { 'max-file': '1000' }))).toMatch(/from 1 to 100/);
    expect(refused(() => logOptsFromFlags(['max-size']))).toBe('invalid --log-opt "max-size"');
  });
});
