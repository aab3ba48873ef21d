/**
 * The API service's limits (issue 11: slow clients; issue 10: bodies): headers, bodies and uploads
 * are bounded in time and size, a connection beyond the cap displaces an idle one, protocol
 * errors are answered with moat's error body — and a followed log or an attached container that
 * outlasts every timeout is not cut. Routes are stand-ins (the server and Docker layer are real);
 * the timeouts are short so that the tests are quick.
 */
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Router, type Route, type RouteContext } from '../../../src/api/router.js';
import * as S from '../../../src/api/schemas.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../../src/api/server.js';
import { makePki } from '../../helpers/pki.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A log that writes a line, stays quiet for `ms`, writes another and ends (a followed log). */
const QUIET_MS = 1500;
const routes: Route[] = [
  {
    method: 'GET',
    path: '/containers/:id/logs',
    action: 'container.logs',
    body: S.logsBody,
    handler: async (ctx: RouteContext) => {
      const io = ctx.req.io!;
      const b = ctx.body as { follow?: boolean; tail?: number };
      if (!b.follow && b.tail === 0) return {}; // attach's first read: no lines
      io.ready?.();
      io.stdout.write('first\n');
      await sleep(ctx.params.id === 'quiet' ? QUIET_MS : 0);
      io.stdout.write('second\n');
      return {};
    },
  },
  {
    method: 'GET',
    path: '/containers/:id/json',
    action: 'container.inspect',
    body: S.empty,
    handler: async () => ({ id: 'x', status: 'running' }),
  },
  {
    method: 'POST',
    path: '/containers/:id/stop',
    action: 'container.stop',
    body: S.stopBody,
    handler: async () => ({}),
  },
  {
    method: 'DELETE',
    path: '/containers/:id',
    action: 'container.remove',
    body: S.forceBody,
    handler: async (ctx: RouteContext) => ({ removed: ctx.params.id, body: ctx.body }),
  },
  {
    method: 'POST',
    path: '/images/load',
    action: 'image.load',
    body: S.loadBody,
    handler: async (ctx: RouteContext) => {
      let n = 0;
      for await (const c of ctx.req.io!.stdin as Readable) n += (c as Buffer).length;
      return { bytes: n };
    },
  },
  {
    method: 'GET',
    path: '/info',
    action: 'system.info',
    body: S.empty,
    handler: async () => ({ ok: true }),
  },
];

const allow = async () => ({ allow: true, reasons: [], policy: 'test' });
const servers: ApiServer[] = [];

async function start(
  limits: ApiServerOptions['limits'],
  extra: Partial<ApiServerOptions> = {},
): Promise<string> {
  const socket = path.join(mkdtempSync(path.join(tmpdir(), 'moat-lim-')), 'api.sock');
  servers.push(
    await startApiServer({
      socket,
      router: new Router(routes as Route<never>[], allow),
      subject: { uid: 1000, user: 'u', via: 'api', local: true },
      version: 'test',
      limits,
      ...extra,
    }),
  );
  return socket;
}
afterAll(async () => {
  for (const s of servers) await s.close();
});

interface Raw {
  sock: net.Socket;
  /** Everything received, once the server closed the connection. */
  closed: Promise<{ text: string; at: number }>;
}

/** A raw connection that sends `text` (and stays open until the server closes it). */
function raw(socket: string, text = ''): Raw {
  const sock = net.connect(socket);
  let got = '';
  sock.on('data', (b: Buffer) => (got += b.toString('latin1')));
  const closed = new Promise<{ text: string; at: number }>((resolve) => {
    sock.on('close', () => resolve({ text: got, at: Date.now() }));
    sock.on('error', () => {});
  });
  if (text) sock.write(text);
  return { sock, closed };
}

/** A whole exchange on a fresh connection: status, headers and body of the response. */
function exchange(socket: string, text: string): Promise<{ status: number; head: string; body: string }> {
  const r = raw(socket, text);
  return r.closed.then(({ text: t }) => {
    const [head, ...rest] = t.split('\r\n\r\n');
    return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(t)?.[1] ?? 0), head, body: rest.join('\r\n\r\n') };
  });
}

function get(socket: string, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: p, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (b: string) => (body += b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const errorOf = (body: string): { code?: string; message?: string; hint?: string } => {
  try {
    return JSON.parse(body) as { code?: string };
  } catch {
    return { message: `not JSON: ${JSON.stringify(body.slice(0, 200))}` };
  }
};

describe('slow clients: headers, bodies and the connection cap', () => {
  let socket: string;
  beforeAll(async () => {
    socket = await start({ headersTimeoutMs: 400, bodyTimeoutMs: 400, maxConnections: 32 });
  });

  it('more half-sent requests than the cap: the service answers meanwhile, and all are closed after the headers timeout', async () => {
    const t0 = Date.now();
    const slow = Array.from({ length: 60 }, (_, i) =>
      raw(socket, i % 3 ? 'GET /v1/info HTTP/1.1\r\nHost: x\r\n' : ''),
    );
    await sleep(100);
    // Beyond the cap, a new connection displaces the one idle longest: slow senders cannot fill it.
    expect(await get(socket, '/_ping')).toEqual({ status: 200, body: 'OK' });
    expect((await get(socket, '/v1/info')).status).toBe(200);
    const ends = await Promise.all(slow.map((s) => s.closed));
    for (const e of ends) expect(e.at - t0).toBeLessThan(2000);
    // Those still open at the deadline are told why (the others made room, closed unanswered).
    const told = ends.filter((e) => e.text.startsWith('HTTP/1.1 408'));
    expect(told.length).toBeGreaterThan(0);
    for (const e of told) expect(errorOf(e.text.split('\r\n\r\n')[1]).code).toBe('API_REQUEST_TIMEOUT');
  });

  it('a body that stops arriving is cut off with 408 (moat and Docker routes)', async () => {
    for (const p of ['/v1/containers/x/stop', '/containers/x/stop']) {
      const t0 = Date.now();
      const r = await exchange(
        socket,
        `POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ti`,
      );
      expect(r.status, p).toBe(408);
      expect(errorOf(r.body).code).toBe('API_REQUEST_TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(3500);
    }
    expect((await get(socket, '/_ping')).status).toBe(200);
  });

  it('a followed log and an attached stream quiet for longer than every timeout are not cut', async () => {
    const follow = await get(socket, '/containers/quiet/logs?follow=1&stdout=1');
    expect(follow.status).toBe(200);
    expect(follow.body).toContain('first\n');
    expect(follow.body).toContain('second\n');
    const attach = await exchange(
      socket,
      'POST /containers/quiet/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    expect(attach.head).toMatch(/^HTTP\/1\.1 101/);
    expect(attach.body).toContain('first\n');
    expect(attach.body).toContain('second\n');
  });
});

describe('the cap when every connection is busy', () => {
  it('a new connection is refused with 503 (busy ones are never displaced); idle ones make room', async () => {
    const socket = await start({ maxConnections: 2 });
    const a = get(socket, '/containers/quiet/logs?follow=1&stdout=1');
    const b = get(socket, '/containers/quiet/logs?follow=1&stdout=1');
    await sleep(200);
    const refused = await exchange(socket, 'GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(refused.status).toBe(503);
    expect(errorOf(refused.body).code).toBe('API_BUSY');
    for (const r of await Promise.all([a, b])) expect(r.body).toContain('second\n');
    // Now both are idle (or gone): a silent connection holds a place, then gives it up.
    const silent = raw(socket);
    await sleep(50);
    expect((await get(socket, '/v1/info')).status).toBe(200);
    expect((await get(socket, '/v1/info')).status).toBe(200);
    silent.sock.destroy();
  });

  it('over TLS the busy connection is the TCP one under it (a streaming client is not displaced)', async () => {
    const pki = makePki();
    const alice = pki.client('alice');
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    servers.push(
      await startApiServer({
        tcp: { host: '127.0.0.1', port, cert: pki.server.cert, key: pki.server.key, ca: pki.caPem },
        router: new Router(routes as Route<never>[], allow),
        subject: { uid: 1000, user: 'u', via: 'api', local: true },
        version: 'test',
        limits: { maxConnections: 1 },
      }),
    );
    const tls = (text: string) =>
      new Promise<string>((resolve) => {
        let got = '';
        const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.caPem, ...alice }, () => s.write(text));
        s.on('data', (b: Buffer) => (got += b.toString()));
        s.on('error', () => {});
        s.on('close', () => resolve(got));
      });
    const streaming = tls(
      'GET /containers/quiet/logs?follow=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    await sleep(300);
    // The one place is busy: the newcomer is closed, the stream goes on to its end.
    expect(await tls('GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toBe('');
    expect(await streaming).toContain('second\n');
  });
});

describe('bodies: sizes, uploads, protocol errors', () => {
  let socket: string;
  beforeAll(async () => {
    socket = await start({ maxUploadBytes: 1 << 20, uploadIdleMs: 400, bodyTimeoutMs: 2000 });
  });
  const big = JSON.stringify({ timeout: 1, pad: 'x'.repeat(2 << 20) });

  it('a JSON body over 1 MiB is 413 API_BODY_TOO_LARGE: announced (before it is sent), chunked, Docker route', async () => {
    const announced = await exchange(
      socket,
      `POST /v1/containers/x/stop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n`,
    );
    expect(announced.status).toBe(413);
    expect(errorOf(announced.body).code).toBe('API_BODY_TOO_LARGE');
    for (const p of ['/v1/containers/x/stop', '/containers/x/stop']) {
      const chunked = await exchange(
        socket,
        `POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
          `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`,
      );
      expect(chunked.status, p).toBe(413);
      expect(errorOf(chunked.body).code).toBe('API_BODY_TOO_LARGE');
    }
    // An archive to a Docker route moat does not serve (docker load) is told so, unread.
    const load = await exchange(
      socket,
      `POST /v1.41/images/load HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\nContent-Length: ${big.length}\r\n\r\n`,
    );
    expect(load.status).toBe(404);
    expect(errorOf(load.body).message).toMatch(/moat does not implement POST \/images\/load/);
    expect((await get(socket, '/_ping')).status).toBe(200);
  });

  it('DELETE with a chunked JSON body is served; with Content-Length and chunked both, a 400 that says why', async () => {
    const body = '{"force":true}';
    const chunk = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const ok = await exchange(
      socket,
      `DELETE /v1/containers/abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`,
    );
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ removed: 'abc', body: { force: true } });
    const both = await exchange(
      socket,
      `DELETE /v1/containers/abc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: ${body.length}\r\n\r\n${chunk}`,
    );
    expect(both.status).toBe(400);
    const e = errorOf(both.body);
    expect(e.code).toBe('API_INVALID_REQUEST');
    expect(e.message).toMatch(/Content-Length or Transfer-Encoding/);
    expect(e.hint).toBeTruthy();
  });

  it('an upload: within the limit it is read whole; beyond it 413 (announced, or counted as it comes)', async () => {
    const head = (extra: string) =>
      `POST /v1/images/load HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-tar\r\n${extra}\r\n`;
    const small = Buffer.alloc(300_000, 1);
    const ok = await exchange(socket, head(`Content-Length: ${small.length}\r\n`) + small.toString('latin1'));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ bytes: small.length });
    const announced = await exchange(socket, head(`Content-Length: ${2 << 20}\r\n`));
    expect(announced.status).toBe(413);
    expect(errorOf(announced.body).code).toBe('API_BODY_TOO_LARGE');
    // Expect: 100-continue: refused before the client sends a byte of it.
    const expect100 = await exchange(socket, head(`Content-Length: ${2 << 20}\r\nExpect: 100-continue\r\n`));
    expect(expect100.head).not.toMatch(/100 Continue/);
    expect(expect100.status).toBe(413);
    const r = raw(socket, head('Transfer-Encoding: chunked\r\n'));
    const piece = Buffer.alloc(64 * 1024, 2).toString('latin1');
    for (let i = 0; i < 24 && !r.sock.destroyed; i++) {
      r.sock.write(`${(64 * 1024).toString(16)}\r\n${piece}\r\n`);
      await sleep(5);
    }
    const counted = await r.closed;
    expect(counted.text).toMatch(/^HTTP\/1\.1 413/);
    expect(errorOf(counted.text.split('\r\n\r\n')[1]).code).toBe('API_BODY_TOO_LARGE');
  });

  it('an upload that pauses longer than the idle timeout is cut off; a slow steady one is not', async () => {
    const head =
      'POST /v1/images/load HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-tar\r\n';
    const stalled = await exchange(socket, `${head}Content-Length: 1000\r\n\r\n${'a'.repeat(100)}`);
    expect(stalled.status).toBe(408);
    expect(errorOf(stalled.body).code).toBe('API_REQUEST_TIMEOUT');
    // 1.2 s in all (three times the idle timeout), a piece every 100 ms.
    const r = raw(socket, `${head}Content-Length: 1200\r\n\r\n`);
    for (let i = 0; i < 12; i++) {
      r.sock.write('b'.repeat(100));
      await sleep(100);
    }
    const steady = await r.closed;
    expect(steady.text).toMatch(/^HTTP\/1\.1 200/);
    expect(steady.text).toContain('{"bytes":1200}');
  });

  it('an upload that would leave the store with less than the reserve free is 507', async () => {
    const s2 = await start({ minFreeBytes: Number.MAX_SAFE_INTEGER }, { storage: tmpdir() });
    const r = await exchange(
      s2,
      'POST /v1/images/load HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-tar\r\nContent-Length: 10\r\n\r\n0123456789',
    );
    expect(r.status).toBe(507);
    expect(errorOf(r.body).code).toBe('API_INSUFFICIENT_STORAGE');
  });
});
