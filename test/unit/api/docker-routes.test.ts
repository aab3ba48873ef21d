/**
 * Issue 10: no Docker endpoint acts without a decision. Generated from the Docker layer's own
 * route table: every route is sent through a policy that denies everything, and either asks the
 * router (and stops at the denial) or is one of the few listed here that answer without acting.
 * A route added to the table is a route tested here.
 */
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ROUTES, serve } from '../../../src/api/docker/router.js';
import { dockerAttachments } from '../../../src/api/docker/attachments.js';
import { dockerExecs } from '../../../src/api/docker/exec.js';
import type { DockerContext } from '../../../src/api/docker/handler.js';
import { ApiError } from '../../../src/api/errors.js';
import { MoatError } from '../../../src/errors.js';

/** Routes that answer without asking the policy, and why that is safe. */
const WITHOUT_DECISION: Record<string, string> = {
  'POST /exec/x/start': 'runs only an instance the policy allowed at exec create, for its creator',
  'GET /exec/x/json': "reads an instance's status, for its creator only",
  'POST /exec/x/resize': 'resizes the terminal of an instance the policy allowed, for its creator only',
  'POST /containers/x/attach': 'refused without an upgrade (notOffered): nothing happens',
};

/** Routes with nothing to act on (docker system prune sends it): it answers that nothing was pruned. */
const NOTHING_TO_DO: Record<string, string> = {
  'POST /build/prune': 'moat has no build cache',
};

/** Bodies that pass the Docker layer's own checks, so that a route reaches the policy. */
const BODIES: Record<string, unknown> = {
  'POST /containers/create': { Image: 'busybox', Cmd: ['true'] },
  'POST /containers/x/exec': { Cmd: ['true'], AttachStdout: true },
  'POST /networks/create': { Name: 'n1' },
  'POST /networks/x/connect': { Container: 'c1' },
  'POST /networks/x/disconnect': { Container: 'c1' },
};

function request(method: string, url: string, body = '{}'): IncomingMessage {
  const r = Readable.from([Buffer.from(body)]) as unknown as IncomingMessage;
  Object.assign(r, { method, url, headers: { 'content-type': 'application/json' } });
  return r;
}

function response() {
  const out = { status: 0, body: '' };
  const res = {
    headersSent: false,
    writeHead(status: number) {
      out.status = status;
      this.headersSent = true;
      return this;
    },
    setHeader() {},
    write(c: string | Buffer) {
      out.body += String(c);
      return true;
    },
    end(c?: string | Buffer) {
      if (c) out.body += String(c);
      return this;
    },
    destroy() {},
    on() {
      return this;
    },
    once() {
      return this;
    },
    off() {
      return this;
    },
    removeListener() {
      return this;
    },
  };
  return { res: res as unknown as ServerResponse, out };
}

/** A concrete path for a route's pattern: every capture group is `x`. */
function pathFor(re: RegExp): string {
  return re.source
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace(/\((?:\.\+|\[\^\/\]\+)\)/g, 'x')
    .replace(/\(([a-z|]+)\)/, (_m, alts: string) => alts.split('|')[0])
    .replace(/\\\//g, '/');
}

describe('the Docker API table', () => {
  it('asks the policy before every route that acts, and the listed few answer without acting', async () => {
    const asked: string[] = [];
    const without: string[] = [];
    for (const [method, re] of ROUTES) {
      const p = pathFor(re);
      expect(re.test(p), `${method} ${re}: ${p}`).toBe(true);
      const calls: string[] = [];
      const ctx: DockerContext = {
        options: { subject: { uid: 1000, user: 'u', via: 'api', local: true, groups: [] } } as never,
        execs: dockerExecs(),
        attachments: dockerAttachments(),
        callerFor: () => async (m: string, path: string) => {
          calls.push(`${m} ${path}`);
          throw new MoatError('POLICY_DENIED', 'denied by the test');
        },
      };
      const { res, out } = response();
      const key = `${method} ${p}`;
      const q = `${p}?fromImage=busybox&tag=1&stdout=1&stderr=1&path=/x&container=x`;
      await serve(
        ctx,
        request(method, q, JSON.stringify(BODIES[key] ?? {})),
        res,
        new URL(`http://moat${q}`),
      );
      if (calls.length) {
        asked.push(key);
        expect(out.status, `${key}: ${out.body}`).toBe(403);
        expect(JSON.parse(out.body).code, key).toBe('POLICY_DENIED');
      } else {
        without.push(key);
        if (key in NOTHING_TO_DO) {
          // a success that says nothing was deleted and no space reclaimed
          expect(out.status, key).toBe(200);
          for (const v of Object.values(JSON.parse(out.body) as Record<string, unknown>))
            expect([null, 0], `${key}: ${out.body}`).toContain(v);
          continue;
        }
        expect(
          Object.keys(WITHOUT_DECISION),
          `${key} answered (${out.status} ${out.body}) without asking the policy`,
        ).toContain(key);
        // and it did not succeed at anything
        expect(out.status, `${key}: ${out.body}`).toBeGreaterThanOrEqual(400);
      }
    }
    expect(without.sort(), JSON.stringify(without)).toEqual(
      [...Object.keys(WITHOUT_DECISION), ...Object.keys(NOTHING_TO_DO)].sort(),
    );
    expect(asked.length).toBeGreaterThanOrEqual(15);
  });

  it('an exec instance is only started or inspected by the subject that created it', async () => {
    const execs = dockerExecs();
    const a = { uid: 1000, user: 'a', via: 'api' as const, local: false, groups: [] };
    const b = { ...a, user: 'b' };
    const id = await execs.create(async () => ({}), a, 'c1', { Cmd: ['true'] });
    expect(execs.inspect(a, id)).toBeTruthy();
    expect(() => execs.inspect(b, id)).toThrow(ApiError);
    await expect(execs.start(b, id, {}, response().res)).rejects.toMatchObject({ code: 'API_NOT_FOUND' });
  });
});
