/**
 * Trust verification records (`<store>/trust/<manifest hex>.json`) live as long as their image,
 * as scan records do: the image store moat opens (runtime/context.ts) drops them when no listed
 * image has that manifest any more — rmi of the last name or by ID, with or without containers
 * keeping the image, image prune, a re-add replacing the manifest — before images.json stops
 * naming it; a digest another name still has keeps them; records of no image are listed by
 * `fsck` and deleted by `fsck --repair` and `prune`.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ImageStore } from '../../../src/image/store.js';
import type { ImageRecord } from '../../../src/image/types.js';
import { openEngine } from '../../../src/runtime/context.js';
import { ScanRecords, type ScanRecordEntry } from '../../../src/scan/record.js';
import type { ScanReport } from '../../../src/scan/report/types.js';
import { makePayload } from '../../../src/trust/cosign/payload.js';
import { ANNOTATION_SIGNATURE, type SignatureLayer } from '../../../src/trust/cosign/verify.js';
import { parsePolicy } from '../../../src/trust/policy/index.js';
import { TrustRecords } from '../../../src/trust/record.js';
import { evaluateTrust } from '../../../src/trust/verify.js';
import { sha256 } from '../image/helpers.js';
import { CLEAN_BASE, storeImage, tempDir } from '../scan/helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const REPO = 'registry.example.com/team';
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();
const policy = parsePolicy(
  JSON.stringify({
    default: [{ type: 'reject' }],
    transports: {
      docker: {
        [REPO]: [{ type: 'sigstoreSigned', keyData: Buffer.from(pem(key.publicKey)).toString('base64') }],
      },
    },
  }),
  '/p/policy.json',
);

/** A cosign signature by the trusted key over `reference` at `digest`. */
function signature(reference: string, digest: string): SignatureLayer {
  const payload = makePayload(reference, digest);
  return {
    digest: `sha256:${createHash('sha256').update(payload).digest('hex')}`,
    payload,
    annotations: { [ANNOTATION_SIGNATURE]: sign('sha256', payload, key.privateKey).toString('base64') },
  };
}

/** The image store as moat opens it, on a private temp directory. */
async function world() {
  const t = await tempDir('moat-trust-life-');
  cleanups.push(t.cleanup);
  const run = path.join(t.dir, 'run');
  mkdirSync(run);
  // the runtime directory moat accepts: the user's own, 0700 (root: 0711, see paths.ts)
  chmodSync(run, process.getuid?.() === 0 ? 0o711 : 0o700);
  const engine = openEngine({
    PATH: process.env.PATH,
    HOME: t.dir,
    XDG_DATA_HOME: path.join(t.dir, 'data'),
    XDG_CONFIG_HOME: path.join(t.dir, 'config'),
    XDG_CACHE_HOME: path.join(t.dir, 'cache'),
    XDG_RUNTIME_DIR: run,
    MOAT_SUBUID_FILE: '/dev/null',
    MOAT_SUBGID_FILE: '/dev/null',
  });
  const store: ImageStore = engine.deps.images;
  const trust = new TrustRecords(store.root);
  const dir = path.join(store.root, 'trust');
  /** Every file in the trust records directory, sorted. */
  const files = () => (existsSync(dir) ? readdirSync(dir).sort() : []);
  const fileOf = (digest: string) => `${digest.slice(7)}.json`;
  const image = async (marker: string, ...names: string[]) => {
    const { record } = await storeImage(store, [
      [...CLEAN_BASE, { name: 'etc/marker', content: `${marker}\n` }],
    ]);
    for (const n of names) await store.tag(record.id, n);
    return record;
  };
  /** Verified as `reference` and recorded, as moat verify and pull --trust record it. */
  const verified = async (rec: ImageRecord, reference: string) => {
    const r = await evaluateTrust(policy, reference, rec.manifestDigest, {
      cosignSignatures: async () => [signature(reference, rec.manifestDigest)],
    });
    expect(r.accepted).toBe(true);
    await trust.put(rec.manifestDigest, r);
    expect(trust.get(rec.manifestDigest, policy.digest, reference)?.accepted).toBe(true);
    expect(files()).toContain(fileOf(rec.manifestDigest));
  };
  const recorded = (rec: ImageRecord, reference: string) =>
    trust.get(rec.manifestDigest, policy.digest, reference) !== undefined;
  return { store, trust, dir, files, fileOf, image, verified, recorded };
}

describe('trust records go with their image', () => {
  it('rmi of the last name: the record is gone; another image keeps its own', async () => {
    const w = await world();
    const a = await w.image('a', `${REPO}/a:1`);
    const b = await w.image('b', `${REPO}/b:1`);
    await w.verified(a, `${REPO}/a:1`);
    await w.verified(b, `${REPO}/b:1`);
    expect((await w.store.remove(`${REPO}/a:1`)).deleted).toEqual([a.id]);
    expect(w.recorded(a, `${REPO}/a:1`)).toBe(false);
    expect(w.files()).toEqual([w.fileOf(b.manifestDigest)]);
    expect(w.recorded(b, `${REPO}/b:1`)).toBe(true);
  });

  it('two names: removing one keeps the record, removing the other drops it', async () => {
    const w = await world();
    const a = await w.image('a', `${REPO}/a:1`, `${REPO}/a:2`);
    await w.verified(a, `${REPO}/a:1`);
    await w.verified(a, `${REPO}/a:2`);
    expect((await w.store.remove(`${REPO}/a:1`)).deleted).toEqual([]);
    expect(w.files()).toEqual([w.fileOf(a.manifestDigest)]);
    expect(w.recorded(a, `${REPO}/a:1`)).toBe(true);
    expect(w.recorded(a, `${REPO}/a:2`)).toBe(true);
    await w.store.remove(`${REPO}/a:2`);
    expect(w.files()).toEqual([]);
    expect(w.recorded(a, `${REPO}/a:2`)).toBe(false);
  });

  it('by ID with force (rmi -f), and when containers keep the image (retain): the record goes', async () => {
    const w = await world();
    const a = await w.image('a', `${REPO}/a:1`, `${REPO}/a:2`);
    const b = await w.image('b', `${REPO}/b:1`);
    await w.verified(a, `${REPO}/a:1`);
    await w.verified(b, `${REPO}/b:1`);
    await w.store.remove(a.id, { force: true });
    expect(w.files()).toEqual([w.fileOf(b.manifestDigest)]);
    await w.store.remove(`${REPO}/b:1`, { retain: true });
    expect(w.files()).toEqual([]);
  });

  it('prune deletes the records of the images it deletes, not of those it keeps', async () => {
    const w = await world();
    const dangling = await w.image('d', `${REPO}/d:1`);
    const kept = await w.image('k', `${REPO}/k:1`);
    await w.verified(dangling, `${REPO}/d:1`);
    await w.verified(kept, `${REPO}/k:1`);
    // d:1 given to another image: the verified one is dangling now
    const other = await w.image('o');
    await w.store.tag(other.id, `${REPO}/d:1`);
    const res = await w.store.prune({ minAgeMs: 0, images: 'dangling', inUse: new Set() });
    expect(res.deleted).toEqual([dangling.id]);
    expect(res.removedRecords).toEqual([]);
    expect(w.files()).toEqual([w.fileOf(kept.manifestDigest)]);
    expect(w.recorded(kept, `${REPO}/k:1`)).toBe(true);
  });

  it('a pull replacing the manifest of an image drops the old manifest’s record', async () => {
    const w = await world();
    const a = await w.image('a', `${REPO}/a:1`);
    await w.verified(a, `${REPO}/a:1`);
    // the same config and layers under another manifest (an annotation added)
    const m = JSON.parse((await w.store.readBlob(a.manifestDigest)).toString('utf8')) as object;
    const other = Buffer.from(JSON.stringify({ ...m, annotations: { 'org.example': 'x' } }));
    await w.store.putBlob(other);
    const again = await w.store.addImage(sha256(other), [`${REPO}/a:1`]);
    expect(again.id).toBe(a.id);
    expect(again.manifestDigest).not.toBe(a.manifestDigest);
    expect(w.files()).toEqual([]);
    expect(w.recorded(a, `${REPO}/a:1`)).toBe(false);
  });

  it('the record is deleted before images.json stops naming the image', async () => {
    const w = await world();
    const a = await w.image('a', `${REPO}/a:1`);
    await w.verified(a, `${REPO}/a:1`);
    const internals = w.store as unknown as { writeDb(db: unknown): Promise<void> };
    const seen: boolean[] = [];
    const write = internals.writeDb.bind(w.store);
    const spy = vi.spyOn(internals, 'writeDb').mockImplementation(async (db) => {
      seen.push(w.files().length > 0);
      // moat stops here: images.json is never rewritten
      if (seen.length === 1) throw new Error('interrupted');
      return write(db);
    });
    await expect(w.store.remove(`${REPO}/a:1`)).rejects.toThrow('interrupted');
    expect(seen).toEqual([false]);
    // still listed, with no record a run could read as a verification of it
    expect((await w.store.list()).map((i) => i.id)).toEqual([a.id]);
    expect(w.recorded(a, `${REPO}/a:1`)).toBe(false);
    expect((await w.store.fsck()).orphanRecords).toEqual([]);
    await w.store.remove(`${REPO}/a:1`);
    spy.mockRestore();
    expect(await w.store.list()).toEqual([]);
  });
});

describe('trust records of no listed image', () => {
  it('fsck lists them with their kind, --repair and prune delete them; listed images keep theirs', async () => {
    const w = await world();
    const a = await w.image('a', `${REPO}/a:1`);
    await w.verified(a, `${REPO}/a:1`);
    // left behind: a record of an image that is gone, a write that never finished, and a
    // manifest with both scan and trust records
    const ghost = `sha256:${'e'.repeat(64)}`;
    const half = `sha256:${'f'.repeat(64)}`;
    const both = `sha256:${'d'.repeat(64)}`;
    const entry = w.trust.all(a.manifestDigest, policy.digest)[0];
    await w.trust.put(ghost, entry);
    await w.trust.put(both, entry);
    writeFileSync(path.join(w.dir, `.${'f'.repeat(64)}.json.tmp-0123456789ab`), '{"format":');
    writeFileSync(path.join(w.dir, 'unrelated'), 'x');
    const scan = new ScanRecords(w.store.root);
    await scan.put(both, { key: '0'.repeat(32) } as ScanRecordEntry, {} as ScanReport);

    const check = await w.store.fsck();
    expect(check.orphanRecords).toEqual([both, ghost, half]);
    expect(check.orphanRecordKinds).toEqual({
      [both]: ['scan', 'trust'],
      [ghost]: ['trust'],
      [half]: ['trust'],
    });
    const repaired = await w.store.fsck({ repair: true });
    expect(repaired.orphanRecords).toEqual([both, ghost, half]);
    expect(w.files()).toEqual([w.fileOf(a.manifestDigest), 'unrelated']);
    expect(await scan.digests()).toEqual([]);
    expect((await w.store.fsck()).orphanRecords).toEqual([]);

    await w.trust.put(ghost, entry);
    const res = await w.store.prune({ minAgeMs: 60_000 });
    expect(res.removedRecords).toEqual([ghost]);
    expect(res.removedRecordKinds).toEqual({ [ghost]: ['trust'] });
    expect(w.files()).toEqual([w.fileOf(a.manifestDigest), 'unrelated']);
    expect(w.recorded(a, `${REPO}/a:1`)).toBe(true);
  });
});
