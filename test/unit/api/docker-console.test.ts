/**
 * The Docker layer's consoles: a client's terminal (resizes kept until the process runs), the
 * attachments of a service's clients (each its subject's), and the request body read off an
 * upgraded connection before its stream.
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { dockerAttachments, type WaitingAttachment } from '../../../src/api/docker/attachments.js';
import { DockerConsole, sizeOf } from '../../../src/api/docker/console.js';
import { upgradeBody } from '../../../src/api/docker/hijack.js';
import type { TermSize } from '../../../src/runtime/tty.js';
import { MoatError } from '../../../src/errors.js';

describe('DockerConsole', () => {
  it('keeps the sizes asked before the process runs: the last is its start size, applied once it runs', () => {
    const c = new DockerConsole();
    const seen: TermSize[] = [];
    c.onResize((s) => seen.push(s));
    c.resize({ rows: 20, cols: 60 });
    c.resize({ rows: 30, cols: 100 });
    expect(seen).toEqual([]);
    expect(c.size).toEqual({ rows: 30, cols: 100 });
    c.started();
    expect(seen).toEqual([{ rows: 30, cols: 100 }]);
    c.resize({ rows: 40, cols: 120 });
    expect(seen).toEqual([
      { rows: 30, cols: 100 },
      { rows: 40, cols: 120 },
    ]);
  });

  it('a live console (an attach to a running container) resizes at once; a listener can leave', () => {
    const c = new DockerConsole(true);
    const seen: TermSize[] = [];
    const stop = c.onResize((s) => seen.push(s));
    c.resize({ rows: 10, cols: 10 });
    stop();
    c.resize({ rows: 11, cols: 11 });
    expect(seen).toEqual([{ rows: 10, cols: 10 }]);
  });

  it('detaches once', async () => {
    const c = new DockerConsole();
    c.detach();
    c.detach();
    await expect(c.detached).resolves.toBeUndefined();
  });

  it('reads h and w of a resize request, within what a terminal can have', () => {
    expect(sizeOf(new URLSearchParams('h=30&w=100'))).toEqual({ rows: 30, cols: 100 });
    for (const q of ['', 'h=30', 'h=0&w=10', 'h=-1&w=10', 'h=1.5&w=10', 'h=10001&w=10', 'h=x&w=10'])
      expect(() => sizeOf(new URLSearchParams(q)), q).toThrow(MoatError);
  });
});

describe('dockerAttachments', () => {
  const waiting = (owner: string, id: string, name: string, log: string[]): WaitingAttachment => ({
    owner,
    id,
    name,
    start: async () => {
      log.push(`start ${owner}`);
    },
    join: () => log.push(`join ${owner}`),
  });
  const ID = 'a'.repeat(60) + 'bcde';

  it("a start takes its own subject's oldest waiting attachment, by ID, ID prefix or name", () => {
    const a = dockerAttachments();
    const log: string[] = [];
    a.wait(waiting('alice', ID, 'web', log));
    a.wait(waiting('bob', ID, 'web', log));
    expect(a.take('carol', ID)).toBeUndefined();
    expect(a.take('alice', 'aaaaaaaaaaa')).toBeUndefined(); // too short a prefix
    expect(a.take('alice', 'web')?.owner).toBe('alice');
    expect(a.take('alice', ID)).toBeUndefined();
    expect(a.take('bob', ID.slice(0, 12))?.owner).toBe('bob');
  });

  it('others still waiting when it starts join it; a withdrawn one does not', () => {
    const a = dockerAttachments();
    const log: string[] = [];
    a.wait(waiting('alice', ID, 'web', log));
    const withdraw = a.wait(waiting('bob', ID, 'web', log));
    a.wait(waiting('carol', 'f'.repeat(64), 'other', log));
    withdraw();
    a.started(ID);
    expect(log).toEqual(['join alice']);
    a.started(ID);
    expect(log).toEqual(['join alice']);
  });

  it("a resize reaches the requester's own consoles on that container only", () => {
    const a = dockerAttachments();
    const mine = new DockerConsole(true);
    const theirs = new DockerConsole(true);
    a.attached('alice', ID, mine);
    const forget = a.attached('bob', ID, theirs);
    expect(a.resize('alice', ID, { rows: 5, cols: 6 })).toBe(true);
    expect(mine.size).toEqual({ rows: 5, cols: 6 });
    expect(theirs.size).toBeUndefined();
    expect(a.resize('alice', 'f'.repeat(64), { rows: 5, cols: 6 })).toBe(false);
    forget();
    expect(a.resize('bob', ID, { rows: 5, cols: 6 })).toBe(false);
  });
});

describe('upgradeBody', () => {
  const req = (len?: number) =>
    ({ headers: len === undefined ? {} : { 'content-length': String(len) } }) as IncomingMessage;

  it('reads the body off the connection and leaves what follows it (stdin) in the stream', async () => {
    const s = new PassThrough();
    s.write('{"Detach":false');
    const body = upgradeBody(req(27), s);
    s.write(',"Tty":true}typed before');
    expect((await body).toString()).toBe('{"Detach":false,"Tty":true}');
    s.end(' the answer');
    let rest = '';
    for await (const c of s) rest += String(c);
    expect(rest).toBe('typed before the answer');
  });

  it('no body: the stream is left as it is', async () => {
    const s = new PassThrough();
    s.end('stdin');
    expect((await upgradeBody(req(), s)).length).toBe(0);
    expect((await upgradeBody(req(0), s)).length).toBe(0);
    let rest = '';
    for await (const c of s) rest += String(c);
    expect(rest).toBe('stdin');
  });

  it('refuses a body too large or cut short', async () => {
    await expect(upgradeBody(req(1 << 20), new PassThrough())).rejects.toMatchObject({
      code: 'API_INVALID_REQUEST',
    });
    const s = new PassThrough();
    const body = upgradeBody(req(10), s);
    s.end('short');
    await expect(body).rejects.toMatchObject({ code: 'API_INVALID_REQUEST' });
  });
});
