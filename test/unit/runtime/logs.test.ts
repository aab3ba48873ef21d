/**
 * A container's log as the monitor writes it and `logs` reads it: streams, tails, times,
 * backpressure, a reader that goes away, follow. (Storage, the line cap and rotation:
 * logs-rotation.test.ts.)
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { printLogs, type StreamName } from '../../../src/runtime/logs/index.js';
import { collector, newWriter, read, tmpLog, writeLog, type Line } from './logs-helpers.js';

const five: Line[] = ['1', '2', '3', '4', '5'].map((i) => [`line ${i}\n`]);

describe('printLogs', () => {
  it('prints every line on its stream, in order', async () => {
    const f = writeLog([['out 1\n'], ['err 1\n', 'stderr'], ['out 2\n']]);
    const r = await read(f, { follow: false });
    expect(r.out).toBe('out 1\nout 2\n');
    expect(r.err).toBe('err 1\n');
  });

  it('tail: 0 prints nothing, N the last N, more than there are all of them', async () => {
    const f = writeLog(five);
    const run = async (tail: number) => (await read(f, { follow: false, tail })).out;
    expect(await run(0)).toBe('');
    expect(await run(2)).toBe('line 4\nline 5\n');
    expect(await run(99)).toBe(five.map((_, i) => `line ${i + 1}\n`).join(''));
  });

  it('tail counts lines within a record (the lines of one read) and across both streams', async () => {
    const f = writeLog([['a\nb\nc\n'], ['x\n', 'stderr'], ['d\ne\n']]);
    const r = await read(f, { follow: false, tail: 3 });
    expect(r.out).toBe('d\ne\n');
    expect(r.err).toBe('x\n');
    expect((await read(f, { follow: false, tail: 5 })).out).toBe('b\nc\nd\ne\n');
  });

  it('bytes after the last whole record (a write cut short) are not read', async () => {
    const f = writeLog(five);
    appendFileSync(f, Buffer.from([0, 0, 0, 9, 1, 0, 1, 2, 3]));
    expect((await read(f, { follow: false, tail: 1 })).out).toBe('line 5\n');
    expect((await read(f, { follow: false })).out).toBe(five.map((_, i) => `line ${i + 1}\n`).join(''));
  });

  it('since and until keep the lines written in between (Unix seconds, inclusive)', async () => {
    const at = (m: number) => Date.parse(`2026-01-01T00:0${m}:00.000Z`);
    const f = writeLog([
      ['a\n', 'stdout', at(1)],
      ['b\n', 'stdout', at(2)],
      ['c\n', 'stdout', at(3)],
    ]);
    const secs = (m: number) => at(m) / 1000;
    const run = async (o: { since?: number; until?: number; tail?: number }) =>
      (await read(f, { follow: false, ...o })).out;
    expect(await run({ since: secs(2) })).toBe('b\nc\n');
    expect(await run({ until: secs(2) })).toBe('a\nb\n');
    expect(await run({ since: secs(2), until: secs(2) })).toBe('b\n');
    expect(await run({ since: secs(9) })).toBe('');
    expect(await run({ tail: 2, until: secs(2) })).toBe('b\n'); // tail first, as Docker's json-file
  });

  it('timestamps: Docker’s fixed-width time before each line, once for a line split across records', async () => {
    const t = Date.parse('2026-01-01T00:00:01.500Z');
    const long = 'y'.repeat(20_000);
    const f = writeLog([
      ['a\nb\n', 'stdout', t],
      [`${long}\n`, 'stdout', t],
    ]);
    const out = (await read(f, { follow: false, timestamps: true })).out;
    const ts = '2026-01-01T00:00:01.500000000Z ';
    expect(out).toBe(`${ts}a\n${ts}b\n${ts}${long}\n`);
  });

  it('a follow ends once its until has passed, though the container still runs', async () => {
    const f = writeLog([['old\n']]);
    const t0 = Date.now();
    const r = await read(f, { follow: true, until: Date.now() / 1000 + 0.3, stillRunning: async () => true });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.out).toBe('old\n');
  });

  it('waits for a slow reader (backpressure) and loses nothing', async () => {
    // One record a line: each its own read.
    const f = writeLog(Array.from({ length: 2000 }, (_, i): Line => [`${'x'.repeat(200)} ${i}\n`]));
    let text = '';
    let writes = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(c: Buffer, _e, cb) {
        text += c.toString();
        writes++;
        setImmediate(cb);
      },
    });
    await printLogs(f, { stdout: slow, stderr: collector().w }, { follow: false });
    // What was handed on but not yet taken stays near the reader's own buffer size.
    expect(slow.writableLength).toBeLessThan(4096);
    await new Promise((r) => slow.end(r));
    expect(writes).toBe(2000);
    expect(text.split('\n').filter(Boolean).at(-1)).toMatch(/ 1999$/);
  });

  it('follow stops when the reader goes away, though the container still runs', async () => {
    const f = writeLog(five);
    const out = new PassThrough();
    let polls = 0;
    await printLogs(
      f,
      { stdout: out, stderr: collector().w },
      {
        follow: true,
        stillRunning: async () => {
          polls++;
          if (polls === 3) out.destroy();
          return true;
        },
      },
    );
    expect(polls).toBeGreaterThanOrEqual(3);
    expect(polls).toBeLessThan(6);
  });

  it('follow prints lines written after the start, and the last ones after the exit', async () => {
    const { file } = tmpLog();
    const { writer } = newWriter(file);
    writer.write('stdout', Buffer.from('old\n'));
    const out = collector();
    let running = true;
    const done = printLogs(
      file,
      { stdout: out.w, stderr: collector().w },
      { follow: true, tail: 0, stillRunning: async () => running },
    );
    await new Promise((r) => setTimeout(r, 150));
    writer.write('stdout', Buffer.from('new\n'));
    await new Promise((r) => setTimeout(r, 250));
    writer.write('stdout', Buffer.from('last\n'));
    writer.end();
    running = false;
    await done;
    expect(out.text()).toBe('new\nlast\n');
  });

  it('a log no monitor wrote to yet (empty, as create makes it) prints nothing; a follower sees its first lines', async () => {
    const { file } = tmpLog();
    writeFileSync(file, '');
    expect((await read(file, { follow: false, tail: 3 })).out).toBe('');
    const out = collector();
    let running = true;
    const done = printLogs(
      file,
      { stdout: out.w, stderr: collector().w },
      {
        follow: true,
        stillRunning: async () => running,
      },
    );
    await new Promise((r) => setTimeout(r, 150));
    const { writer } = newWriter(file);
    writer.write('stdout', Buffer.from('first\n'));
    writer.end();
    await new Promise((r) => setTimeout(r, 250));
    running = false;
    await done;
    expect(out.text()).toBe('first\n');
  });
});

describe("moat's earlier JSON-lines logs", () => {
  const entry = (log: string, stream: StreamName = 'stdout', time = '2026-01-01T00:00:00.000Z') =>
    JSON.stringify({ log, stream, time }) + '\n';

  it('are still read: streams, tail, a torn last line skipped', async () => {
    const { file } = tmpLog();
    writeFileSync(
      file,
      [entry('a\n'), entry('e\n', 'stderr'), entry('b\n'), entry('c\n'), '{"log":"tor'].join(''),
    );
    const all = await read(file, { follow: false });
    expect(all.out).toBe('a\nb\nc\n');
    expect(all.err).toBe('e\n');
    expect((await read(file, { follow: false, tail: 1 })).out).toBe('c\n');
    expect((await read(file, { follow: false, tail: 0 })).out).toBe('');
  });

  it('a container started again sets the old log aside and goes on in the new format; a follower follows', async () => {
    const { file } = tmpLog();
    writeFileSync(file, entry('before\n'));
    const out = collector();
    let running = true;
    const done = printLogs(
      file,
      { stdout: out.w, stderr: collector().w },
      {
        follow: true,
        stillRunning: async () => running,
      },
    );
    await new Promise((r) => setTimeout(r, 150));
    const { writer } = newWriter(file);
    writer.write('stdout', Buffer.from('after\n'));
    writer.end();
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await done;
    expect(out.text()).toBe('before\nafter\n');
    expect((await read(file, { follow: false })).out).toBe('after\n');
  });
});
