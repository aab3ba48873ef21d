/**
 * The connections of one listener, and its cap. A plain cap (Node's `server.maxConnections`)
 * hands the service to whoever opens the most connections: slow senders fill it, and every
 * other client is turned away until they time out. Here a connection beyond the cap takes the
 * place of the one idle longest — idle meaning no request under way: headers still arriving, or a
 * kept-alive connection between requests — so slow or idle clients make room for new ones, and
 * the cap refuses a connection only when every open one is busy with a request (a followed log,
 * an attached container, a pull). A client's own requests can fill it then, not its silence.
 */
import type { Duplex } from 'node:stream';

interface Conn {
  /** Requests under way on it (pipelined requests count each); an upgraded one stays busy. */
  busy: number;
  upgraded: boolean;
}

export type Admission = { admitted: true; evicted?: Duplex } | { admitted: false };

export class Connections {
  /** In the order they last became idle (a Map iterates in insertion order): oldest first. */
  private readonly open = new Map<Duplex, Conn>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.open.size;
  }

  /** A new connection: admitted, with the idle one it displaces (closed here), or refused. */
  admit(s: Duplex): Admission {
    let evicted: Duplex | undefined;
    if (this.open.size >= this.max) {
      for (const [other, c] of this.open) {
        if (c.busy === 0 && !c.upgraded) {
          evicted = other;
          break;
        }
      }
      if (!evicted) return { admitted: false };
      this.open.delete(evicted);
      evicted.destroy();
    }
    this.open.set(s, { busy: 0, upgraded: false });
    s.once('close', () => this.open.delete(s));
    return evicted ? { admitted: true, evicted } : { admitted: true };
  }

  /** A request began on `s` (its headers have arrived). */
  begin(s: Duplex): void {
    const c = this.open.get(s);
    if (c) c.busy++;
  }

  /** A request's exchange on `s` is over: idle again once none is under way, and now the newest. */
  end(s: Duplex): void {
    const c = this.open.get(s);
    if (!c || c.busy === 0) return;
    if (--c.busy === 0 && !c.upgraded) {
      this.open.delete(s);
      this.open.set(s, c);
    }
  }

  isBusy(s: Duplex): boolean {
    const c = this.open.get(s);
    return c !== undefined && (c.busy > 0 || c.upgraded);
  }

  /** `s` was handed over as a raw stream (an attach): busy until it closes. */
  upgrade(s: Duplex): void {
    const c = this.open.get(s);
    if (c) c.upgraded = true;
  }
}

/**
 * The connection a socket the HTTP layer sees belongs to: itself, or under TLS the TCP socket it
 * wraps (`_parent`, which Node's TLS layer has long set; without it the TLS socket is its own).
 */
export function connectionOf(s: Duplex): Duplex {
  return (s as Duplex & { _parent?: Duplex | null })._parent ?? s;
}
