/**
 * The HTTP server keeps answering whatever one exchange does: a handler that writes many lines,
 * a stream that errors, a client that goes away in the middle of a followed log. Routes here are
 * stand-ins for the engine's (the server and Docker layer are the real ones); any unhandled
 * 'error' event would fail the run.
 */
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Router, type Route, type RouteContext } from '../../../src/api/router.js';
import * as S from '../../../src/api/schemas.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';

let srv: ApiServer;
let socket: string;
const seen: { stopped?: boolean; wrote?: number } = {};

const line = (w: Writable, i: number) => w.write(`line ${i}\n`);

const routes: Route[] = [
  {
    method: 'GET',
    path: '/containers/:id/logs',
    action: 'container.logs',
    body: S.logsBody,
    handler: async (ctx: RouteContext) => {
      const io = ctx.req.io!;
      const id = ctx.params.id;
      if (id === 'many') for (let i = 1; i <= 500; i++) line(i % 2 ? io.stdout : io.stderr, i);
      if (id === 'erring') {
        line(io.stdout, 1);
        io.stdout.emit('error', new Error('a stream of this request failed'));
        line(io.stdout, 2);
      }
      if (id === 'buggy') {
        // A bug: an error thrown where no handler of the exchange can catch it.
        setTimeout(() => {
          throw new Error('a bug escaped its exchange');
        }, 10);
        void Promise.reject(new Error('a rejection nobody handles'));
      }
      if (id === 'endless') {
        // Like a followed log: lines until the reader has gone.
        let i = 0;
        while (!io.stdout.destroyed && i < 10_000) {
          line(io.stdout, i++);
          await new Promise((r) => setTimeout(r, 5));
        }
        seen.stopped = io.stdout.destroyed;
        seen.wrote = i;
      }
      return {};
    },
  },
  {
    method: 'GET',
    path: '/info',
    action: 'system.info',
    body: S.empty,
    handler: async () => ({}),
  },
];

/** The test runner's listeners, taken before the server adds its own. */
const runner = {
  exception: process.listeners('uncaughtException'),
  rejection: process.listeners('unhandledRejection'),
};

beforeAll(async () => {
  socket = path.join(mkdtempSync(path.join(tmpdir(), 'moat-srv-')), 'api.sock');
  srv = await startApiServer({
    socket,
    router: new Router(routes as Route<never>[], async () => ({ allow: true, reasons: [], policy: 'test' })),
    subject: { uid: 1000, user: 'u', via: 'api', local: true },
    version: 'test',
  });
});
afterAll(async () => srv?.close());

/** A request; the body, demultiplexed when it is a Docker stream. */
function get(p: string): Promise<{ status: number; out: string; err: string; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: p }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => {
        const raw = Buffer.concat(parts);
        let out = '';
        let err = '';
        if (/multiplexed/.test(String(res.headers['content-type'])))
          for (let at = 0; at + 8 <= raw.length;) {
            const n = raw.readUInt32BE(at + 4);
            const text = raw.subarray(at + 8, at + 8 + n).toString();
            if (raw[at] === 1) out += text;
            else err += text;
            at += 8 + n;
          }
        resolve({ status: res.statusCode ?? 0, out, err, raw });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const answering = async () => expect((await get('/_ping')).raw.toString()).toBe('OK');

describe('the API server survives its exchanges', () => {
  it('a log of many lines is sent whole, then the response ends (issue 9: write after end)', async () => {
    const r = await get('/containers/many/logs?stdout=1&stderr=1');
    expect(r.status).toBe(200);
    expect(r.out.split('\n').filter(Boolean)).toHaveLength(250);
    expect(r.err.split('\n').filter(Boolean)).toHaveLength(250);
    expect(r.out.startsWith('line 1\nline 3\n')).toBe(true);
    await answering();
  });

  it("a handler's stream error ends nothing but that stream", async () => {
    const r = await get('/containers/erring/logs?stdout=1&stderr=1');
    expect(r.status).toBe(200);
    await answering();
    expect((await get('/containers/many/logs?stdout=1&stderr=1')).out).toContain('line 499\n');
  });

  it('a client that closes a followed log early: the writer sees it and stops, the server answers', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { socketPath: socket, path: '/containers/endless/logs?follow=1&stdout=1' },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
      req.end();
    });
    for (let i = 0; i < 100 && seen.stopped === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen.stopped).toBe(true);
    expect(seen.wrote).toBeLessThan(1000);
    await answering();
  });

  it('an error that escapes an exchange (a bug) is reported, and the service goes on answering', async () => {
    // The test runner's own listeners would catch it first: for this test, only the service's.
    for (const l of runner.exception) process.off('uncaughtException', l);
    for (const l of runner.rejection) process.off('unhandledRejection', l);
    const write = process.stderr.write.bind(process.stderr);
    let reported = '';
    process.stderr.write = ((chunk: string) => ((reported += chunk), true)) as typeof process.stderr.write;
    try {
      await get('/containers/buggy/logs?stdout=1');
      await new Promise((r) => setTimeout(r, 50));
      await answering();
    } finally {
      process.stderr.write = write;
      for (const l of runner.exception) process.on('uncaughtException', l);
      for (const l of runner.rejection) process.on('unhandledRejection', l);
    }
    expect(reported).toMatch(/internal error in the API service \(it keeps serving\): Error: a bug escaped/);
    expect(reported).toMatch(/a rejection nobody handles/);
  });

  it('an unknown endpoint and a bad version prefix are answered, not thrown', async () => {
    expect((await get('/v1.41/nope')).status).toBe(404);
    expect((await get('/%zz')).status).toBe(404);
    await answering();
  });
});
