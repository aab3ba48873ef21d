/**
 * Issue 15: moat port and docker port against the service print nothing: moat publishes no ports
 * (containers have only the loopback network). A port asked by number is refused as docker
 * refuses one that is not published; an unknown container is not found.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, moat, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;
const name = uniq('port');

beforeAll(async () => {
  w = mainWorld('port');
  svc = await startService(w);
  expect((await moat(['create', '--name', name, IMAGE, 'true'])).code).toBe(0);
});
afterAll(async () => {
  await moat(['rm', '-f', name]);
  if (svc) await stopService(svc);
});

describe('port', () => {
  it('moat port: nothing; a port by number refused; an unknown container not found', async () => {
    expect(await moat(['port', name])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const p = await moat(['port', name, '80']);
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/no public port '80\/tcp' is published .*\[RUNTIME_INVALID_STATE\]/);
    expect((await moat(['port', 'no-such-container-here'])).stderr).toMatch(
      /\[RUNTIME_CONTAINER_NOT_FOUND\]/,
    );
  });

  it('docker port: the same through the service', () => {
    expect(docker(svc, w, ['port', name])).toMatchObject({ code: 0, stdout: '' });
    const p = docker(svc, w, ['port', name, '80/tcp']);
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/No public port '80\/tcp' published/);
  });
});
