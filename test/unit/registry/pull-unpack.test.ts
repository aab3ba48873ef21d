/**
 * pull() with an unpack sink (what `moat pull` gives it to unpack while downloading): the sink
 * reads every layer's bytes in manifest order, from the download or from the store, through the
 * follow events the unpack worker gets (BlobFollower.progress → FollowFeed), and the
 * `verified` promise settles only after every blob was checked — rejecting when one was bad, so
 * nothing is committed from unverified bytes.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FollowFeed } from '../../../src/image/unpack-feed.js';
import { clearTokenCache } from '../../../src/image/registry/client.js';
import { withDefaults, type RegistriesConfig } from '../../../src/image/registry/config.js';
import { pull, type LiveLayer, type LiveUnpack } from '../../../src/image/registry/pull.js';
import { closeAgents } from '../../../src/image/registry/tls.js';
import { ImageStore } from '../../../src/image/store.js';
import type { BuiltImage } from '../image/helpers.js';
import { smallImage, startFakeRegistry, type FakeRegistry } from './fake-registry.js';

let reg: FakeRegistry;
let img: BuiltImage;
let dir: string;
let store: ImageStore;
let cfg: RegistriesConfig;

beforeAll(async () => {
  reg = await startFakeRegistry();
  img = await smallImage({
    layers: [
      [{ path: 'a', content: 'first' }],
      [{ path: 'b', content: Buffer.alloc(300_000, 7) }],
      [{ path: 'c', content: 'third' }],
    ],
  });
});
afterAll(async () => {
  await closeAgents();
  await reg.close();
});
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'moat-pull-unpack-'));
  store = new ImageStore(path.join(dir, 'store'));
  cfg = withDefaults(
    { timeouts: { connectMs: 2000, headersMs: 800, bodyIdleMs: 800 } },
    { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg') },
  );
  reg.blobs.clear();
  reg.manifests.clear();
  reg.intercept = undefined;
  reg.addImage('app', '1', img);
  clearTokenCache();
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

interface Seen {
  id?: string;
  layers: { digest: string; bytes?: Buffer; error?: unknown }[];
  verified?: 'resolved' | 'rejected';
  /** What the sink had read when `verified` settled. */
  readBeforeVerified?: number;
}

/**
 * A sink that reads every layer in order as the worker does: the followers' events become event
 * lines for a FollowFeed, whose followers read the files; then it waits for `verified`.
 */
function recordingSink(seen: Seen): LiveUnpack {
  return async (id: string, layers: LiveLayer[], verified: Promise<unknown>) => {
    seen.id = id;
    let read = 0;
    const index = new Map(layers.map((l, i) => [l.follower, i]));
    const feed = new FollowFeed(new Map(layers.map((l) => [index.get(l.follower)!, l.final])));
    void Promise.all(
      [...index].map(async ([follower, f]) => {
        for await (const ev of follower.progress()) feed.line(JSON.stringify({ f, ...ev }));
      }),
    ).catch((e: unknown) => feed.fail(e)); // the real worker is killed with the pull's error
    const settled = verified.then(
      () => {
        seen.verified = 'resolved';
        seen.readBeforeVerified = read;
      },
      () => {
        seen.verified = 'rejected';
        seen.readBeforeVerified = read;
      },
    );
    for (const l of layers) {
      const chunks: Buffer[] = [];
      try {
        for await (const c of feed.follower(index.get(l.follower)!).read()) {
          chunks.push(c);
          read += c.length;
        }
        seen.layers.push({ digest: l.digest, bytes: Buffer.concat(chunks) });
      } catch (e) {
        seen.layers.push({ digest: l.digest, error: e });
        await settled;
        throw e;
      }
    }
    await settled;
    feed.close();
    if (seen.verified === 'rejected') await verified; // rethrow
    return { created: true };
  };
}

const ref = `app:1`;

describe('pull with an unpack sink', () => {
  it('streams every layer in manifest order, byte for byte, and reports the root as unpacked', async () => {
    const seen: Seen = { layers: [] };
    const res = await pull({ store, cfg, reference: `${reg.host}/${ref}`, unpack: recordingSink(seen) });
    expect(res.unpacked).toBe(true);
    expect(seen.id).toBe(img.configDigest);
    expect(seen.verified).toBe('resolved');
    expect(seen.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
    for (const [i, l] of seen.layers.entries()) expect(l.bytes?.equals(img.layers[i].bytes)).toBe(true);
  });

  it('layers already stored are read from the store', async () => {
    await pull({ store, cfg, reference: `${reg.host}/${ref}` });
    const seen: Seen = { layers: [] };
    const res = await pull({ store, cfg, reference: `${reg.host}/${ref}`, unpack: recordingSink(seen) });
    expect(res.fetched).toBe(0);
    for (const [i, l] of seen.layers.entries()) expect(l.bytes?.equals(img.layers[i].bytes)).toBe(true);
  });

  it('a layer with the wrong bytes: the sink is told (verified rejects), the pull fails, nothing is recorded', async () => {
    const bad = img.layers[1];
    reg.blobs.set(bad.digest, Buffer.alloc(bad.size, 1));
    const seen: Seen = { layers: [] };
    await expect(
      pull({ store, cfg, reference: `${reg.host}/${ref}`, unpack: recordingSink(seen) }),
    ).rejects.toMatchObject({ code: 'IMAGE_DIGEST_MISMATCH' });
    expect(seen.verified).toBe('rejected');
    // The unpack stops at the bad layer at the latest: layers download in parallel, so the bad one
    // may be caught while an earlier layer is still being read, which then gets the error.
    const order = img.layers.map((l) => l.digest);
    const last = seen.layers.at(-1);
    expect(order.indexOf(last?.digest ?? '')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf(last?.digest ?? '')).toBeLessThanOrEqual(order.indexOf(bad.digest));
    expect(last?.error).toMatchObject({ code: 'IMAGE_DIGEST_MISMATCH' });
    expect(seen.layers.filter((l) => l.digest === bad.digest && l.bytes)).toEqual([]);
    expect(await store.list()).toEqual([]);
    expect(await store.hasBlob(bad.digest)).toBe(false);
  });

  it('a download that fails before a layer starts still ends the sink (no hang)', async () => {
    // Layer 0 is refused outright; with concurrency 1 the others never start.
    const first = img.layers[0];
    reg.intercept = (_req, res, url) => {
      if (url.pathname.endsWith(first.digest)) {
        res.writeHead(404).end();
        return true;
      }
      return false;
    };
    const seen: Seen = { layers: [] };
    await expect(
      pull({
        store,
        cfg: { ...cfg, concurrency: 1 },
        reference: `${reg.host}/${ref}`,
        unpack: recordingSink(seen),
      }),
    ).rejects.toMatchObject({ code: 'REGISTRY_BLOB_NOT_FOUND' });
    expect(seen.verified).toBe('rejected');
  });

  it("a failing sink fails the pull with the sink's error, after the downloads settle", async () => {
    const failing: LiveUnpack = async () => {
      throw Object.assign(new Error('hostile layer'), { code: 'IMAGE_UNSAFE_LINK' });
    };
    await expect(
      pull({ store, cfg, reference: `${reg.host}/${ref}`, unpack: failing }),
    ).rejects.toMatchObject({ code: 'IMAGE_UNSAFE_LINK' });
    expect(await store.list()).toEqual([]);
    // The verified blobs stay for the next pull (as after any interrupted pull).
    for (const l of img.layers) expect(await store.hasBlob(l.digest)).toBe(true);
  });

  it('a sink that finds the root already made reports unpacked: false', async () => {
    const res = await pull({
      store,
      cfg,
      reference: `${reg.host}/${ref}`,
      unpack: async () => ({ created: false }),
    });
    expect(res.unpacked).toBe(false);
  });
});
