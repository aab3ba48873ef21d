/**
 * Asking a running moat service (oci.json "service"): the service's router decides; anything but
 * a well-formed answer fails the create (fail closed), a refusal carries the service's reason.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Router } from '../../../src/api/router.js';
import { ociRoutes } from '../../../src/oci/routes.js';
import { askService } from '../../../src/oci/service.js';
import { OciError } from '../../../src/oci/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'moat-oci-svc-'));
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

/** A server on a unix socket answering /v1/oci/create with `answer`. */
async function serve(name: string, answer: (body: unknown) => Promise<[number, string]>): Promise<string> {
  const socket = path.join(dir, name);
  const s = createServer((req, res) => {
    let text = '';
    req.on('data', (b: Buffer) => (text += b.toString()));
    req.on('end', () => {
      void answer(JSON.parse(text)).then(([status, body]) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      });
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(socket, r));
  return socket;
}

const body = {
  id: 'c1',
  bundle: '/b',
  spec: {
    root: { path: 'rootfs' },
    process: { args: ['true'], capabilities: { bounding: ['CAP_SYS_ADMIN'] } },
  },
  mode: 'enforce',
};

async function code(p: Promise<unknown>): Promise<[string, string]> {
  try {
    await p;
  } catch (e) {
    return [e instanceof OciError ? e.code : 'not an OciError', (e as Error).message];
  }
  return ['resolved', ''];
}

describe('askService', () => {
  it('returns the router’s answer (the hardened spec), and a denial’s reason', async () => {
    const allowAll = new Router(ociRoutes(), async () => ({ allow: true, reasons: [], policy: 'test' }));
    const ok = await serve('ok.sock', async (b) => [
      200,
      JSON.stringify(
        await allowAll.handle({
          subject: { uid: 1, user: 'u', via: 'api' },
          method: 'POST',
          path: '/oci/create',
          body: b,
        }),
      ),
    ]);
    const r = await askService(ok, body);
    expect(r.applied).toBe(true);
    expect(r.spec.process?.capabilities?.bounding).toEqual([]);
    expect(r.changes[0]).toEqual({ field: 'process.capabilities.bounding', change: 'dropped CAP_SYS_ADMIN' });
    const deny = await serve('deny.sock', async () => [
      403,
      JSON.stringify({ code: 'POLICY_DENIED', message: 'oci.create denied by rego: nope' }),
    ]);
    expect(await code(askService(deny, body))).toEqual(['OCI_SERVICE', 'oci.create denied by rego: nope']);
  });

  it('fails closed: no service, a body that is not JSON, a result of the wrong shape', async () => {
    expect((await code(askService(path.join(dir, 'none.sock'), body)))[0]).toBe('OCI_SERVICE');
    const junk = await serve('junk.sock', async () => [200, 'hello']);
    expect((await code(askService(junk, body)))[1]).toMatch(/answered 200 with a body that is not JSON$/);
    const shape = await serve('shape.sock', async () => [200, JSON.stringify({ allow: true })]);
    expect((await code(askService(shape, body)))[1]).toMatch(/not an oci\.create result$/);
  });
});
