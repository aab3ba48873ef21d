/**
 * Trust verification records go with their image, against Debian's docker-registry on 127.0.0.1,
 * as the non-root user: an image pulled under a sigstoreSigned trust policy has its verification
 * recorded (`<store>/trust/<manifest hex>.json`); `rmi` of one of two names keeps it, of the last
 * drops it; a record of no image is listed by `moat image fsck` and removed by `moat image prune`.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE } from './moat.js';
import { mainWorld, needTools, startRegistry, world, type Registry, type World } from './registry-helpers.js';

needTools('docker-registry');

let reg: Registry;
let keyDir: string;
let ref: string;
/** The manifest signed, and stored by the pull: the record's name. */
let manifestHex: string;
const trustDir = (w: World) => path.join(w.env.XDG_DATA_HOME!, 'moat', 'storage', 'trust');
const trustFiles = (w: World) => (existsSync(trustDir(w)) ? readdirSync(trustDir(w)).sort() : []);

beforeAll(async () => {
  reg = await startRegistry();
  const src = mainWorld('trust-records-src');
  keyDir = src.env.HOME!;
  const g = await src.moat(['key', 'generate', '--output-key-prefix', path.join(keyDir, 'ci')]);
  expect(g.code, g.stderr).toBe(0);
  ref = `${reg.host}/team/app:1`;
  const p = await src.moat(['push', IMAGE, ref]);
  expect(p.code, p.stderr).toBe(0);
  const s = await src.moat(['sign', '--key', path.join(keyDir, 'ci.key'), ref]);
  expect(s.code, s.stderr).toBe(0);
  manifestHex = /@sha256:([0-9a-f]{64})/.exec(s.stdout)![1];
}, 120_000);
afterAll(async () => reg?.stop());

describe('trust records go with their image', () => {
  it('rmi of one of two names keeps the record, of the last drops it; prune removes records of no image', async () => {
    const w = world('trust-records');
    const trust = path.join(w.configDir, 'trust.json');
    writeFileSync(
      trust,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            [`${reg.host}/team`]: [{ type: 'sigstoreSigned', keyPath: path.join(keyDir, 'ci.pub') }],
          },
        },
      }),
    );
    const p = await w.moat(['pull', '--trust', trust, ref]);
    expect(p.code, p.stderr).toBe(0);
    const mine = [`${manifestHex}.json`];
    expect(trustFiles(w)).toEqual(mine); // the verification, recorded by the pull

    expect((await w.moat(['tag', ref, 'localhost/other:1'])).code).toBe(0);
    const a = await w.moat(['rmi', ref]);
    expect(a.code, a.stderr).toBe(0);
    expect(trustFiles(w)).toEqual(mine);
    const b = await w.moat(['rmi', 'localhost/other:1']);
    expect(b.code, b.stderr).toBe(0);
    expect(trustFiles(w)).toEqual([]);

    // a record of no image (as an interrupted removal or an older moat left it)
    const ghost = 'e'.repeat(64);
    writeFileSync(path.join(trustDir(w), `${ghost}.json`), '{}');
    const f = await w.moat(['image', 'fsck']);
    expect(f.code, f.stdout).toBe(0);
    expect(f.stdout).toContain(`trust records of no image: sha256:${ghost}\n`);
    expect(f.stdout).toContain(
      '; trust records of 1 removed image(s) (moat image prune or --repair removes them)',
    );
    const pr = await w.moat(['image', 'prune']);
    expect(pr.code, pr.stderr).toBe(0);
    expect(pr.stdout).toContain(', trust records of 1 removed image(s) removed)');
    expect(trustFiles(w)).toEqual([]);
  }, 180_000);
});
