/** The attach protocol's frames: encoding, decoding across any chunking, and the size limit. */
import { describe, expect, it } from 'vitest';
import {
  FRAME,
  FrameDecoder,
  FrameError,
  MAX_FRAME,
  frame,
  frames,
  jsonPayload,
} from '../../../../src/runtime/attach/frames.js';

type Got = [number, string][];

function decoder(): { d: FrameDecoder; got: Got } {
  const got: Got = [];
  const d = new FrameDecoder((type, payload) => got.push([type, payload.toString('latin1')]));
  return { d, got };
}

describe('frame', () => {
  it('is a type byte, a 32-bit big-endian length and the payload', () => {
    expect([...frame(FRAME.STDOUT, 'hi')]).toEqual([1, 0, 0, 0, 2, 0x68, 0x69]);
    expect([...frame(FRAME.STDIN_END)]).toEqual([0x12, 0, 0, 0, 0]);
    const big = frame(FRAME.STDIN, Buffer.alloc(0x10203, 7));
    expect([...big.subarray(0, 5)]).toEqual([0, 0, 1, 2, 3]);
    expect(big.length).toBe(5 + 0x10203);
  });

  it('frames() splits data into frames of at most MAX_FRAME bytes', () => {
    const data = Buffer.alloc(MAX_FRAME * 2 + 10);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const out = frames(FRAME.STDOUT, data);
    expect(out.map((f) => f.length - 5)).toEqual([MAX_FRAME, MAX_FRAME, 10]);
    const { d, got } = decoder();
    for (const f of out) d.push(f);
    expect(got.every(([t]) => t === FRAME.STDOUT)).toBe(true);
    expect(Buffer.concat(got.map(([, p]) => Buffer.from(p, 'latin1')))).toEqual(data);
    expect(frames(FRAME.STDOUT, Buffer.alloc(0))).toEqual([]);
    expect(frames(FRAME.STDERR, Buffer.alloc(MAX_FRAME)).length).toBe(1);
  });
});

describe('FrameDecoder', () => {
  const stream = Buffer.concat([
    frame(FRAME.HELLO, '{"stdin":true}'),
    frame(FRAME.STDIN, 'ls\r'),
    frame(FRAME.RESIZE, '[30,100]'),
    frame(FRAME.STDIN_END),
    frame(FRAME.EXIT, '{"exitCode":5}'),
  ]);
  const expected: Got = [
    [FRAME.HELLO, '{"stdin":true}'],
    [FRAME.STDIN, 'ls\r'],
    [FRAME.RESIZE, '[30,100]'],
    [FRAME.STDIN_END, ''],
    [FRAME.EXIT, '{"exitCode":5}'],
  ];

  it('decodes several frames in one chunk, empty payloads included', () => {
    const { d, got } = decoder();
    d.push(stream);
    expect(got).toEqual(expected);
  });

  it('decodes the same frames fed one byte at a time, and in every two-way split', () => {
    const { d, got } = decoder();
    for (const b of stream) d.push(Buffer.from([b]));
    expect(got).toEqual(expected);
    for (let at = 0; at <= stream.length; at++) {
      const x = decoder();
      x.d.push(stream.subarray(0, at));
      x.d.push(stream.subarray(at));
      expect(x.got, `split at ${at}`).toEqual(expected);
    }
  });

  it('waits for the rest of a frame', () => {
    const { d, got } = decoder();
    const f = frame(FRAME.STDOUT, 'hello');
    d.push(f.subarray(0, 4));
    d.push(f.subarray(4, 8));
    expect(got).toEqual([]);
    d.push(f.subarray(8));
    expect(got).toEqual([[FRAME.STDOUT, 'hello']]);
  });

  it('accepts a frame of exactly MAX_FRAME bytes', () => {
    const { d, got } = decoder();
    d.push(frame(FRAME.STDOUT, Buffer.alloc(MAX_FRAME, 0x61)));
    expect(got).toHaveLength(1);
    expect(got[0][1].length).toBe(MAX_FRAME);
  });

  it('refuses an over-long frame from its header alone, before any of its payload', () => {
    const head = Buffer.from([FRAME.STDIN, 0, 0, 0, 0]);
    head.writeUInt32BE(MAX_FRAME + 1, 1);
    const { d, got } = decoder();
    // the header split: nothing is decided on four bytes
    d.push(head.subarray(0, 4));
    expect(() => d.push(head.subarray(4))).toThrow(FrameError);
    expect(got).toEqual([]);
    const huge = Buffer.from([FRAME.STDOUT, 0xff, 0xff, 0xff, 0xff]);
    expect(() => decoder().d.push(huge)).toThrow(/attach frame of 4294967295 bytes \(at most 65536\)/);
  });

  it('refuses an over-long frame that follows good ones, after passing those on', () => {
    const bad = Buffer.from([FRAME.STDOUT, 0, 0, 0, 0]);
    bad.writeUInt32BE(MAX_FRAME + 1, 1);
    const { d, got } = decoder();
    expect(() => d.push(Buffer.concat([frame(FRAME.STDOUT, 'ok'), bad]))).toThrow(FrameError);
    expect(got).toEqual([[FRAME.STDOUT, 'ok']]);
  });
});

describe('jsonPayload', () => {
  it('parses JSON, undefined otherwise', () => {
    expect(jsonPayload(Buffer.from('{"exitCode":3}'))).toEqual({ exitCode: 3 });
    expect(jsonPayload(Buffer.from('[24,80]'))).toEqual([24, 80]);
    expect(jsonPayload(Buffer.from('{'))).toBeUndefined();
    expect(jsonPayload(Buffer.alloc(0))).toBeUndefined();
  });
});
