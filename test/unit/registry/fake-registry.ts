/**
 * A small, scriptable registry for tests: serves manifests and blobs of the distribution API on
 * 127.0.0.1, and lets a test replace any answer (wrong bytes, truncated bodies, hanging
 * responses, redirects, auth challenges) with `intercept`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildImage, type BuiltImage, type ImageSpec } from '../image/helpers.js';

export type Interceptor = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

export interface FakeRegistry {
  server: Server;
  host: string;
  blobs: Map<string, Buffer>;
  manifests: Map<string, { bytes: Buffer; type: string }>;
  /** Requests seen: method, path, authorization header. */
  log: { method: string; path: string; auth?: string }[];
  intercept?: Interceptor;
  addImage(repo: string, tag: string, img: BuiltImage): void;
  close(): Promise<void>;
}

export async function startFakeRegistry(): Promise<FakeRegistry> {
  const reg = {
    blobs: new Map<string, Buffer>(),
    manifests: new Map<string, { bytes: Buffer; type: string }>(),
    log: [] as FakeRegistry['log'],
  } as FakeRegistry;
  const sockets = new Set<import('node:net').Socket>();
  reg.server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      reg.log.push({ method: req.method ?? '', path: url.pathname, auth: req.headers.authorization });
      if (reg.intercept && (await reg.intercept(req, res, url))) return;
      if (url.pathname === '/v2/') return void res.writeHead(200).end('{}');
      const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
      if (!m) return void res.writeHead(404).end();
      if (m[2] === 'manifests') {
        const found = reg.manifests.get(`${m[1]}:${m[3]}`);
        if (!found) return void res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
        return void res
          .writeHead(200, { 'content-type': found.type, 'content-length': found.bytes.length })
          .end(found.bytes);
      }
      const blob = reg.blobs.get(m[3]);
      if (!blob) return void res.writeHead(404).end();
      res
        .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length })
        .end(blob);
    })();
  });
  reg.server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => reg.server.listen(0, '127.0.0.1', r));
  reg.host = `127.0.0.1:${(reg.server.address() as AddressInfo).port}`;
  reg.addImage = (repo, tag, img) => {
    for (const l of img.layers) reg.blobs.set(l.digest, l.bytes);
    reg.blobs.set(img.configDigest, img.configBytes);
    const entry = {
      bytes: img.manifestBytes,
      type: img.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    };
    reg.manifests.set(`${repo}:${tag}`, entry);
    reg.manifests.set(`${repo}:${img.manifestDigest}`, entry);
  };
  reg.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => reg.server.close(() => r()));
  };
  return reg;
}

export async function smallImage(spec: Partial<ImageSpec> = {}): Promise<BuiltImage> {
  return buildImage({
    layers: [
      [{ path: 'etc/hello', content: 'hello\n' }],
      [{ path: 'etc/two', content: randomBytes(100_000) }],
    ],
    ...spec,
  });
}
