/**
 * The attach protocol between a container's monitor and a client that attaches later (`moat
 * attach`, `start -a`, the API): frames of a type byte, a 32-bit big-endian length and at most
 * MAX_FRAME bytes of payload, both ways on the monitor's attach socket (attach/server.ts).
 *
 *   client → monitor: HELLO {"stdin": bool} first, then STDIN bytes, RESIZE [rows, cols], STDIN_END
 *   monitor → client: STDOUT and STDERR bytes (a terminal's output is all STDOUT), EXIT {"exitCode"}
 *
 * Pure: the decoder keeps at most one frame's bytes and refuses a longer one.
 */
export const FRAME = {
  STDIN: 0x00,
  STDOUT: 0x01,
  STDERR: 0x02,
  HELLO: 0x10,
  RESIZE: 0x11,
  STDIN_END: 0x12,
  EXIT: 0x13,
} as const;

export const MAX_FRAME = 64 * 1024;
const HEADER = 5;

export function frame(type: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(HEADER);
  head[0] = type;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Bytes of any length as frames of `type` (each at most MAX_FRAME). */
export function frames(type: number, data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += MAX_FRAME) out.push(frame(type, data.subarray(i, i + MAX_FRAME)));
  return out;
}

export class FrameError extends Error {}

/** Feeds bytes in, calls `onFrame` per whole frame; throws FrameError on a frame over MAX_FRAME. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (type: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= HEADER) {
      const len = this.buf.readUInt32BE(1);
      if (len > MAX_FRAME) throw new FrameError(`attach frame of ${len} bytes (at most ${MAX_FRAME})`);
      if (this.buf.length < HEADER + len) return;
      const type = this.buf[0];
      const payload = this.buf.subarray(HEADER, HEADER + len);
      this.buf = this.buf.subarray(HEADER + len);
      this.onFrame(type, payload);
    }
  }
}

/** A JSON payload, or undefined when it is not JSON. */
export function jsonPayload(p: Buffer): unknown {
  try {
    return JSON.parse(p.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
