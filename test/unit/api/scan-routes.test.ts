/**
 * Run and create scan their image first, through the router (withScanOnMissing): an image with no
 * report under the scan setting in force is scanned by an `image.scan` request of the same
 * subject (no body: the configured database is not a path the subject names); an image with a
 * report by the current scanner is not; a report by an older scanner is made again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRequest, AnyRoute, RouteContext } from '../../../src/api/router.js';
import { withScanOnMissing } from '../../../src/api/scan-routes.js';
import type { ImageRecord } from '../../../src/image/types.js';
import type { Engine } from '../../../src/runtime/engine.js';
import { SCANNER_VERSION } from '../../../src/scan/index.js';
import { scanConfig } from '../../../src/scan/config.js';
import { ScanRecords, type ScanRecordEntry } from '../../../src/scan/record.js';
import type { ScanReport } from '../../../src/scan/report/types.js';
import { settingKey } from '../../../src/scan/service.js';
import { tempDir } from '../scan/helpers.js';

const rec = {
  id: `sha256:${'1'.repeat(64)}`,
  manifestDigest: `sha256:${'2'.repeat(64)}`,
  names: ['localhost/app:1'],
  layers: [],
} as unknown as ImageRecord;

let root: string;
let cleanup: () => Promise<void>;
const saved = { ...process.env };

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('moat-scan-routes-'));
  process.env.XDG_CONFIG_HOME = root;
  delete process.env.MOAT_VULN_DB;
  delete process.env.MOAT_VEX;
  delete process.env.MOAT_SCAN_CONFIG;
});
afterAll(async () => {
  process.env = saved;
  await cleanup();
});

function setup(action = 'container.run') {
  const asked: ApiRequest[] = [];
  const engine = {
    deps: {
      images: {
        root,
        resolve: async (ref: string) => {
          if (ref !== 'localhost/app:1') throw new Error('no such image');
          return rec;
        },
      },
    },
  } as unknown as Engine;
  const route = {
    method: 'POST',
    path: '/containers/run',
    action,
    body: { type: 'object' },
    facts: async () => ({ ran: true }),
    handler: async () => ({}),
  } as unknown as AnyRoute;
  const [wrapped] = withScanOnMissing(
    [route],
    async (req) => {
      asked.push(req);
      return {};
    },
    engine,
  );
  const facts = (image: string) =>
    wrapped.facts!({
      req: {
        subject: { uid: 7, user: 'u', via: 'api', local: false },
        method: 'POST',
        path: '/containers/run',
      },
      body: { options: { image } },
      params: {},
      facts: {},
    } as unknown as RouteContext<never>);
  return { asked, facts, wrapped, route };
}

const entry = (scanner: string): ScanRecordEntry => ({
  key: settingKey(scanConfig()),
  scanner,
  db: null,
  vex: [],
  at: new Date().toISOString(),
  summary: {} as ScanRecordEntry['summary'],
});

describe('withScanOnMissing', () => {
  it('asks the router for image.scan of the same subject, without a body, when there is no report', async () => {
    const { asked, facts } = setup();
    expect(await facts('localhost/app:1')).toEqual({ ran: true });
    expect(asked).toMatchObject([
      {
        subject: { uid: 7, user: 'u', via: 'api', local: false },
        method: 'POST',
        path: `/images/${encodeURIComponent(rec.id)}/scan`,
        body: {},
      },
    ]);
  });

  it('is a lookup once a report by this scanner exists; an older scanner scans again', async () => {
    const records = new ScanRecords(root);
    await records.put(rec.manifestDigest, entry('moat-scan/0'), {} as ScanReport);
    const a = setup();
    await a.facts('localhost/app:1');
    expect(a.asked).toHaveLength(1);
    await records.put(rec.manifestDigest, entry(SCANNER_VERSION), {} as ScanReport);
    const b = setup();
    await b.facts('localhost/app:1');
    expect(b.asked).toEqual([]);
  });

  it('leaves a missing image to the run facts, and other routes alone', async () => {
    const { asked, facts } = setup();
    expect(await facts('nope:1')).toEqual({ ran: true });
    expect(asked).toEqual([]);
    const other = setup('container.start');
    expect(other.wrapped).toBe(other.route);
  });
});
