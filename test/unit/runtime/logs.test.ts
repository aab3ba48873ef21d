/** Reading a container's JSON-lines log: tails, torn lines, backpressure, a reader that goes away. */
import { mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatEntry, printLogs, tailOffset, type StreamName } from '../../../src/runtime/logs.js';

const entry = (log: string, stream: StreamName = 'stdout', time = '2026-01-01T00:00:00.000Z') =>
  formatEntry({ log, stream, time });

function logFile(lines: string[]): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'moat-logs-')), 'container.log');
  writeFileSync(f, lines.join(''));
  return f;
}

/** Collects what is written, as text. */
function collector(): { w: Writable; text: () => string } {
  let text = '';
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      text += c.toString();
      cb();
    },
  });
  return { w, text: () => text };
}

const five = ['1', '2', '3', '4', '5'].map((i) => entry(`line ${i}\n`));

describe('printLogs', () => {
  it('prints every line on its stream, in order', async () => {
    const f = logFile([entry('out 1\n'), entry('err 1\n', 'stderr'), entry('out 2\n')]);
    const out = collector();
    const err = collector();
    await printLogs(f, { stdout: out.w, stderr: err.w }, { follow: false });
    expect(out.text()).toBe('out 1\nout 2\n');
    expect(err.text()).toBe('err 1\n');
  });

  it('tail: 0 prints nothing, N the last N, more than there are all of them', async () => {
    const f = logFile(five);
    const run = async (tail: number) => {
      const out = collector();
      await printLogs(f, { stdout: out.w, stderr: collector().w }, { follow: false, tail });
      return out.text();
    };
    expect(await run(0)).toBe('');
    expect(await run(2)).toBe('line 4\nline 5\n');
    expect(await run(99)).toBe(five.map((_, i) => `line ${i + 1}\n`).join(''));
    expect(await tailOffset(f, 0)).toBe(five.join('').length);
    expect(await tailOffset(path.join(path.dirname(f), 'none.log'), 3)).toBe(0);
  });

  it('tail counts complete lines only; a torn last line is skipped', async () => {
    const f = logFile([...five, entry('torn\n').slice(0, 10)]);
    const out = collector();
    await printLogs(f, { stdout: out.w, stderr: collector().w }, { follow: false, tail: 1 });
    expect(out.text()).toBe('line 5\n');
  });

  it('since and until keep the lines written in between (Unix seconds, inclusive)', async () => {
    const at = (m: number) => `2026-01-01T00:0${m}:00.000Z`;
    const f = logFile([
      entry('a\n', 'stdout', at(1)),
      entry('b\n', 'stdout', at(2)),
      entry('c\n', 'stdout', at(3)),
    ]);
    const secs = (m: number) => Date.parse(at(m)) / 1000;
    const run = async (o: { since?: number; until?: number; tail?: number }) => {
      const out = collector();
      await printLogs(f, { stdout: out.w, stderr: collector().w }, { follow: false, ...o });
      return out.text();
    };
    expect(await run({ since: secs(2) })).toBe('b\nc\n');
    expect(await run({ until: secs(2) })).toBe('a\nb\n');
    expect(await run({ since: secs(2), until: secs(2) })).toBe('b\n');
    expect(await run({ since: secs(9) })).toBe('');
    expect(await run({ tail: 2, until: secs(2) })).toBe('b\n'); // tail first, as Docker's json-file
  });

  it('a follow ends once its until has passed, though the container still runs', async () => {
    const f = logFile([entry('old\n')]);
    const out = collector();
    const t0 = Date.now();
    await printLogs(
      f,
      { stdout: out.w, stderr: collector().w },
      { follow: true, until: Date.now() / 1000 + 0.3, stillRunning: async () => true },
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(out.text()).toBe('old\n');
  });

  it('waits for a slow reader (backpressure) and loses nothing', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => entry(`${'x'.repeat(200)} ${i}\n`));
    const f = logFile(many);
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
    const f = logFile(five);
    const out = new PassThrough();
    let polls = 0;
    const done = printLogs(
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
    await done;
    expect(polls).toBeGreaterThanOrEqual(3);
    expect(polls).toBeLessThan(6);
  });

  it('follow prints lines written after the start, and the last ones after the exit', async () => {
    const f = logFile([entry('old\n')]);
    const out = collector();
    let running = true;
    const done = printLogs(
      f,
      { stdout: out.w, stderr: collector().w },
      { follow: true, tail: 0, stillRunning: async () => running },
    );
    await new Promise((r) => setTimeout(r, 150));
    appendFileSync(f, entry('new\n'));
    await new Promise((r) => setTimeout(r, 250));
    appendFileSync(f, entry('last\n'));
    running = false;
    await done;
    expect(out.text()).toBe('new\nlast\n');
  });
});
