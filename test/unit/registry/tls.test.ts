/**
 * Registry TLS agents against a real HTTPS server: the CA from certs.d is trusted, the client
 * certificate from certs.d is presented (the server requires one), several connections share the
 * agent's one TLS context, and --tls-verify=false connects without any CA. And the client's
 * choice of scheme on a loopback port that speaks TLS (plain HTTP is asked first there).
 */
import { promises as fsp } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../src/image/registry/client.js';
import { withDefaults } from '../../../src/image/registry/config.js';
import { agentFor, closeAgents } from '../../../src/image/registry/tls.js';
import { makePki } from '../../helpers/pki.js';

let dir: string;
let server: Server;
let hostPort: string;
let caPem: string;
let clientCert: string;
let clientKey: string;
const handshakes: (string | undefined)[] = [];
/** Codes of the handshakes the server refused (`tlsClientError`). */
const refused: (string | undefined)[] = [];

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'moat-tls-'));
  const p = makePki();
  caPem = p.caPem;
  ({ cert: clientCert, key: clientKey } = p.client('moat client'));
  server = createServer(
    {
      key: p.server.key,
      cert: p.server.cert,
      ca: caPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      // Keep each response open a little, so parallel requests need parallel connections.
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 50);
    },
  );
  server.on('secureConnection', (s) => handshakes.push(String(s.getPeerCertificate().subject?.CN)));
  server.on('tlsClientError', (e: NodeJS.ErrnoException) => refused.push(e.code));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hostPort = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

// Agents are cached per host for the process: each case starts without one.
afterEach(closeAgents);
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await fsp.rm(dir, { recursive: true, force: true });
});

const cfgWith = (certsDirs: string[]) => ({
  certsDirs,
  registries: {},
  timeouts: { connectMs: 2000, headersMs: 2000, bodyIdleMs: 2000 },
});

async function certsDir(name: string, files: Record<string, string>): Promise<string> {
  const d = path.join(dir, name);
  await fsp.mkdir(path.join(d, hostPort), { recursive: true });
  for (const [f, content] of Object.entries(files)) await fsp.writeFile(path.join(d, hostPort, f), content);
  return d;
}

describe('registry TLS agents', () => {
  it('trusts the certs.d CA, presents the certs.d client certificate, over several connections', async () => {
    const d = await certsDir('full', { 'ca.crt': caPem, 'client.cert': clientCert, 'client.key': clientKey });
    const agent = agentFor(hostPort, true, cfgWith([d]));
    handshakes.length = 0;
    const res = await Promise.all(
      [1, 2, 3].map(() =>
        request(`https://${hostPort}/v2/`, { dispatcher: agent }).then((r) => r.statusCode),
      ),
    );
    expect(res).toEqual([200, 200, 200]);
    // Three connections at once, each with the client certificate.
    expect(handshakes).toEqual(['moat client', 'moat client', 'moat client']);
  });

  it('without the CA the server certificate does not verify', async () => {
    const d = await certsDir('client-only', { 'client.cert': clientCert, 'client.key': clientKey });
    const agent = agentFor(hostPort, true, cfgWith([d]));
    await expect(request(`https://${hostPort}/v2/`, { dispatcher: agent })).rejects.toMatchObject({
      code: expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/),
    });
  });

  it('without verification no CA is needed; the client certificate is still presented', async () => {
    const d = await certsDir('noverify', { 'client.cert': clientCert, 'client.key': clientKey });
    const agent = agentFor(hostPort, false, cfgWith([d]));
    expect((await request(`https://${hostPort}/v2/`, { dispatcher: agent })).statusCode).toBe(200);
  });

  it('without a client certificate the server refuses the connection', async () => {
    const d = await certsDir('ca-only', { 'ca.crt': caPem });
    const agent = agentFor(hostPort, true, cfgWith([d]));
    handshakes.length = 0;
    refused.length = 0;
    const err = await request(`https://${hostPort}/v2/`, { dispatcher: agent }).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    // In TLS 1.3 the client's handshake is over before the server checks its certificate: the
    // client sees the connection closed (or, racing, the server's alert) and never a response.
    expect(err?.code).toMatch(/^(UND_ERR_SOCKET|ECONNRESET|ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)$/);
    // The refusal is the server's, and for the missing certificate.
    expect(refused).toEqual(['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE']);
    expect(handshakes).toEqual([]);
  });

  it('a broken client key fails the connection with an error, not a crash', async () => {
    const d = await certsDir('badkey', {
      'ca.crt': caPem,
      'client.cert': clientCert,
      'client.key': 'garbage',
    });
    const agent = agentFor(hostPort, true, cfgWith([d]));
    await expect(request(`https://${hostPort}/v2/`, { dispatcher: agent })).rejects.toBeInstanceOf(Error);
  });
});

describe('scheme of a loopback registry with a port (plain HTTP allowed, asked first)', () => {
  const client = async (certs: string, tlsVerify?: boolean) =>
    new RegistryClient({
      cfg: { ...withDefaults({}, { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg') }), certsDirs: [certs] },
      target: { registry: hostPort, endpoint: hostPort, repository: 'r' },
      actions: ['pull'],
      ...(tlsVerify === undefined ? {} : { tlsVerify }),
    });

  it('a port that speaks TLS is used over verified HTTPS after the plain attempt fails', async () => {
    const d = await certsDir('scheme-ok', {
      'ca.crt': caPem,
      'client.cert': clientCert,
      'client.key': clientKey,
    });
    const c = await client(d);
    await c.ping();
    expect(c.baseUrl).toBe(`https://${hostPort}`);
  });

  it('and must still verify: an unknown CA is refused, not downgraded to plain HTTP', async () => {
    const d = await certsDir('scheme-noca', { 'client.cert': clientCert, 'client.key': clientKey });
    await expect((await client(d)).ping()).rejects.toMatchObject({ code: 'REGISTRY_TLS_FAILED' });
  });
});
