/**
 * The attachments of one service's docker clients to containers with a terminal or stdin
 * (containers-attach.ts), each its subject's:
 *
 * - waiting: `docker run` and `docker start -a` attach before they start the container. The
 *   attachment waits for its subject's start request (containers-lifecycle.ts), which then starts
 *   the container with this client attached, as `moat start -a` does: its output from the first
 *   byte, its stdin the container's (docker's StdinOnce: its end is the container's, without a
 *   terminal). Another subject's attachment waiting for the same container attaches to it once it
 *   runs; one left waiting for START_TIMEOUT_MS ends.
 * - under way: a resize request (`POST /containers/{id}/resize`) reaches the consoles its subject
 *   has attached to that container.
 */
import type { TermSize } from '../../runtime/tty.js';
import type { Call } from './call.js';
import type { DockerConsole } from './console.js';

/** How long an attachment waits for its container's start. */
export const START_TIMEOUT_MS = 60_000;

export interface WaitingAttachment {
  owner: string;
  id: string;
  name: string;
  /**
   * Start the container with this client attached, as the start request's sender (`call`):
   * resolves once it runs, rejects with why it did not (the start request's answer).
   */
  start: (call: Call) => Promise<void>;
  /** The container was started otherwise: attach to it as it runs. */
  join: () => void;
}

interface Attached {
  owner: string;
  console: DockerConsole;
}

/** Does `ref` (an ID, an ID prefix of 12 or more, or a name) name this container? */
const names = (w: WaitingAttachment, ref: string): boolean =>
  w.id === ref || w.name === ref || (/^[0-9a-f]{12,63}$/.test(ref) && w.id.startsWith(ref));

export function dockerAttachments() {
  const waiting: WaitingAttachment[] = [];
  const attached = new Map<string, Set<Attached>>();

  return {
    /** An attachment that waits for its start; the function returned withdraws it. */
    wait(w: WaitingAttachment): () => void {
      waiting.push(w);
      return () => {
        const i = waiting.indexOf(w);
        if (i >= 0) waiting.splice(i, 1);
      };
    },

    /** The oldest attachment of `owner` waiting for the container `ref`, withdrawn. */
    take(owner: string, ref: string): WaitingAttachment | undefined {
      const i = waiting.findIndex((w) => w.owner === owner && names(w, ref));
      return i < 0 ? undefined : waiting.splice(i, 1)[0];
    },

    /** The container `id` runs: the attachments still waiting for it attach to it. */
    started(id: string): void {
      for (const w of waiting.filter((x) => x.id === id)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.join();
      }
    },

    /** A console of `owner` on container `id`, for resizes; the function returned forgets it. */
    attached(owner: string, id: string, console: DockerConsole): () => void {
      const a = { owner, console };
      const set = attached.get(id) ?? new Set<Attached>();
      attached.set(id, set.add(a));
      return () => {
        set.delete(a);
        if (!set.size && attached.get(id) === set) attached.delete(id);
      };
    },

    /** Resize the consoles `owner` has on container `id`; false when there are none. */
    resize(owner: string, id: string, size: TermSize): boolean {
      const mine = [...(attached.get(id) ?? [])].filter((a) => a.owner === owner);
      for (const a of mine) a.console.resize(size);
      return mine.length > 0;
    },
  };
}
