/**
 * Transfer events (pull and push) and how they are shown: a frame of one line per layer
 * (bytes, rate) redrawn in place on a TTY, or plain lines — one per layer state change — when
 * the output is not a terminal. Pure: events in, text out; the CLI writes it.
 */

import { humanSize } from '../../util/format.js';

export type TransferState =
  'waiting' | 'downloading' | 'uploading' | 'exists' | 'mounted' | 'done' | 'failed';

export interface TransferEvent {
  /** `resolved`: the manifest is known; `blob`: one blob's progress; `status`: a line of text. */
  kind: 'resolved' | 'blob' | 'status';
  digest?: string;
  state?: TransferState;
  current?: number;
  total?: number;
  message?: string;
}

export type TransferEventFn = (e: TransferEvent) => void;

const short = (d: string | undefined) => (d ?? '').replace(/^sha256:/, '').slice(0, 12);

interface Row {
  digest: string;
  state: TransferState;
  current: number;
  total?: number;
  started?: number;
  finished?: number;
}

/** Keeps per-blob state; `line(e)` for plain output, `frame(now)` for a TTY. */
export class TransferView {
  private readonly rows = new Map<string, Row>();
  private header?: string;

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Apply an event; returns the plain line to print for it, if it deserves one. */
  apply(e: TransferEvent): string | undefined {
    if (e.kind === 'status' || e.kind === 'resolved') {
      if (e.kind === 'resolved') this.header = e.message;
      return e.message;
    }
    if (!e.digest) return undefined;
    let r = this.rows.get(e.digest);
    if (!r) {
      r = { digest: e.digest, state: 'waiting', current: 0 };
      this.rows.set(e.digest, r);
    }
    const before = r.state;
    if (e.state) r.state = e.state;
    if (e.current !== undefined) r.current = e.current;
    if (e.total !== undefined) r.total = e.total;
    if ((r.state === 'downloading' || r.state === 'uploading') && r.started === undefined)
      r.started = this.now();
    if (['done', 'exists', 'mounted', 'failed'].includes(r.state) && r.finished === undefined)
      r.finished = this.now();
    if (r.state === before) return undefined;
    if (r.state === 'waiting') return undefined;
    return `${short(r.digest)}: ${this.describe(r)}`;
  }

  private describe(r: Row): string {
    const size = r.total !== undefined ? humanSize(r.total) : humanSize(r.current);
    switch (r.state) {
      case 'exists':
        return `already present (${size})`;
      case 'mounted':
        return `mounted from another repository (${size})`;
      case 'done': {
        const secs =
          r.started !== undefined && r.finished !== undefined ? (r.finished - r.started) / 1000 : 0;
        return `done ${size}${secs > 0.05 ? ` in ${secs.toFixed(1)}s (${humanSize(r.current / secs)}/s)` : ''}`;
      }
      case 'downloading':
      case 'uploading': {
        const secs = r.started !== undefined ? (this.now() - r.started) / 1000 : 0;
        const rate = secs > 0.2 ? ` ${humanSize(r.current / secs)}/s` : '';
        return `${r.state} ${humanSize(r.current)}${r.total !== undefined ? `/${humanSize(r.total)}` : ''}${rate}`;
      }
      default:
        return r.state;
    }
  }

  /** The whole display for a terminal: header, then one line per blob. */
  frame(): string[] {
    const lines = this.header ? [this.header] : [];
    for (const r of this.rows.values()) lines.push(`${short(r.digest)}: ${this.describe(r)}`);
    return lines;
  }
}
