/**
 * Docker's detach keys: `--detach-keys "ctrl-p,ctrl-q"` (the default). A key is a single
 * character (`a`, `:`) or `ctrl-X` for X in a–z, @, [, \, ], ^, _. The scanner watches what the
 * user types: bytes that could begin the sequence are held back; the whole sequence detaches (its
 * bytes never reach the container); anything else lets the held bytes through, in order.
 */
import { UsageError } from '../errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_SPECIAL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/** The byte sequence of a --detach-keys value; empty: detaching is off. */
export function parseDetachKeys(spec: string): Buffer {
  if (spec === '') return Buffer.alloc(0);
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    const m = /^ctrl-(.)$/i.exec(k);
    if (m) {
      const c = m[1].toLowerCase();
      if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else if (c in CTRL_SPECIAL) out.push(CTRL_SPECIAL[c]);
      else throw badKeys(spec, k);
    } else if (k.length === 1 && k.charCodeAt(0) >= 0x20 && k.charCodeAt(0) < 0x7f) {
      out.push(k.charCodeAt(0));
    } else {
      throw badKeys(spec, k);
    }
  }
  return Buffer.from(out);
}

function badKeys(spec: string, key: string): UsageError {
  return new UsageError(`invalid --detach-keys "${spec}": "${key}" is not a key`, {
    hint: 'keys are single characters or ctrl-<a-z, @, [, \\, ], ^, _>, separated by commas, e.g. ctrl-p,ctrl-q',
  });
}

/** Feeds typed bytes through the detach sequence; see the module comment. */
export class DetachScanner {
  private held = 0;

  constructor(private readonly keys: Buffer) {}

  /** What to pass on of `chunk`, and whether the sequence was completed (then stop reading). */
  feed(chunk: Buffer): { pass: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { pass: chunk, detach: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) return { pass: Buffer.from(out), detach: true };
        continue;
      }
      // A mismatch: the held bytes and this one go through, but for their longest end that may
      // still begin the sequence (keys a,a,b typed as a,a,a,b: the last two a's are held).
      const tried = [...this.keys.subarray(0, this.held), b];
      let keep = tried.length - 1;
      while (keep > 0 && !tried.slice(tried.length - keep).every((x, i) => x === this.keys[i])) keep--;
      for (let i = 0; i < tried.length - keep; i++) out.push(tried[i]);
      this.held = keep;
    }
    return { pass: Buffer.from(out), detach: false };
  }
}
