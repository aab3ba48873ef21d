/**
 * Asking a running `moat system service` instead of loading the policy engine in every create.
 * A fresh process pays ~80-150 ms to import the engine and load the compiled policy before its
 * first decision; a running service decides in about a millisecond (bench/oci-runtime.mjs). With
 * `"service": SOCKET` in oci.json, moat-runtime sends the same `oci.create` request to
 * `POST /v1/oci/create` on that socket: the service's router and policy decide, and the answer is
 * the hardened spec and its changes, as in-process. Fail closed: a service that cannot be reached,
 * or answers anything but a well-formed result, fails the create; it never falls back to a
 * policy of this process's choosing.
 */
import { request } from 'node:http';
import { OciError } from './errors.js';
import type { OciCreateResult } from './routes.js';

const MAX_ANSWER_BYTES = 16 << 20;

export function askService(socket: string, body: unknown, timeoutMs = 30_000): Promise<OciCreateResult> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const fail = (msg: string, cause?: unknown) =>
      reject(new OciError('OCI_SERVICE', `moat service at ${socket}: ${msg}`, { cause }));
    const req = request(
      {
        socketPath: socket,
        method: 'POST',
        path: '/v1/oci/create',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (b: Buffer) => {
          n += b.length;
          if (n > MAX_ANSWER_BYTES) {
            res.destroy();
            fail(`answer larger than ${MAX_ANSWER_BYTES} bytes`);
          } else chunks.push(b);
        });
        res.on('error', (e) => fail(e.message, e));
        res.on('end', () => {
          let j: unknown;
          try {
            j = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return fail(`answered ${res.statusCode} with a body that is not JSON`);
          }
          const o = j as Partial<OciCreateResult> & { message?: unknown };
          // An error: the service's message is the reason (a denial: "oci.create denied by ...").
          if (res.statusCode !== 200)
            return reject(
              new OciError(
                'OCI_SERVICE',
                typeof o.message === 'string' ? o.message : `answered ${res.statusCode}`,
              ),
            );
          if (
            typeof o !== 'object' ||
            o === null ||
            typeof o.spec !== 'object' ||
            o.spec === null ||
            !Array.isArray(o.changes) ||
            typeof o.applied !== 'boolean' ||
            typeof o.mode !== 'string'
          )
            return fail('answered with a result that is not an oci.create result');
          resolve(o as OciCreateResult);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => fail(e.message, e));
    req.end(text);
  });
}
