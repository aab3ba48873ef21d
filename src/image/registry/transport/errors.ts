/**
 * From what went wrong on the wire to moat's stable codes: an HTTP status the caller did not
 * expect (httpError), a 401 moat cannot answer (unauthorized), an undici or socket failure
 * (transportError: timeouts, truncated bodies, TLS, unreachable hosts), a body over its cap
 * (tooLarge). The codes themselves, their statuses and default hints are in ../errors.ts.
 */
import { ImageError } from '../../errors.js';
import { isLoopback } from '../endpoint.js';
import { RegistryError } from '../errors.js';

export function httpError(status: number, what: string): RegistryError {
  if (status === 403)
    return new RegistryError('REGISTRY_DENIED', `${what}: access denied (403)`, {
      hint: 'check your permissions on that repository',
    });
  return new RegistryError('REGISTRY_HTTP_ERROR', `${what}: unexpected HTTP status ${status}`, {
    details: { status },
  });
}

export function unauthorized(registry: string, hadCreds: boolean): RegistryError {
  return new RegistryError(
    'REGISTRY_UNAUTHORIZED',
    hadCreds ? `${registry} rejected the credentials` : `${registry} requires authentication`,
    {
      hint: hadCreds
        ? `check the user name and password; \`moat login ${registry}\` stores new ones`
        : `run \`moat login ${registry}\``,
    },
  );
}

export function tooLarge(what: string, n: number, max: number): ImageError {
  return new ImageError('IMAGE_BLOB_TOO_LARGE', `${what} is larger than ${max} bytes (at least ${n})`, {
    details: { maxBytes: max, atLeast: n },
  });
}

const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
]);

function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  if (typeof c === 'string') return c;
  const cause = (e as { cause?: unknown } | null)?.cause;
  return cause && cause !== e ? codeOf(cause) : undefined;
}

/**
 * Map undici and socket errors to stable codes. `inBody`: the failure came while reading a body.
 * The errno is kept in `details.errno` (scheme detection in ping.ts reads it).
 */
export function transportError(e: unknown, what: string, host: string, inBody = false): Error {
  if (e instanceof RegistryError || e instanceof ImageError) return e;
  const code = codeOf(e) ?? '';
  const msg = (e as Error)?.message ?? String(e);
  const details = { errno: code, host };
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ETIMEDOUT'
  ) {
    return new RegistryError('REGISTRY_TIMEOUT', `${what}: ${host} timed out (${code})`, {
      cause: e,
      details,
      hint: 'the registry is slow or hanging; retry, or raise "timeouts" in registries.json',
    });
  }
  if (
    inBody &&
    (code === 'UND_ERR_SOCKET' ||
      code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ||
      code === 'ECONNRESET' ||
      code === 'UND_ERR_ABORTED' ||
      /terminated|closed/i.test(msg))
  ) {
    return new ImageError(
      'IMAGE_BLOB_TRUNCATED',
      `${what}: the connection to ${host} ended early (${code || msg})`,
      { cause: e, details, hint: 'retry the pull; complete blobs are kept' },
    );
  }
  if (TLS_VERIFY_CODES.has(code)) {
    return new RegistryError(
      'REGISTRY_TLS_FAILED',
      `${what}: the certificate of ${host} does not verify (${code})`,
      {
        cause: e,
        details,
        hint: `put the registry's CA in ~/.config/moat/certs.d/${host}/ca.crt, or use --tls-verify=false${isLoopback(host) ? '' : ' (insecure)'}`,
      },
    );
  }
  if (code.startsWith('ERR_SSL_') || code === 'EPROTO') {
    return new RegistryError('REGISTRY_TLS_FAILED', `${what}: TLS with ${host} failed (${code})`, {
      cause: e,
      details,
      hint: `if ${host} only speaks plain HTTP, list it as insecure in registries.json or use --tls-verify=false`,
    });
  }
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'ECONNRESET' ||
    code === 'UND_ERR_SOCKET'
  ) {
    return new RegistryError('REGISTRY_UNREACHABLE', `${what}: cannot reach ${host} (${code})`, {
      cause: e,
      details,
    });
  }
  return new RegistryError('REGISTRY_UNREACHABLE', `${what}: ${msg}`, { cause: e, details });
}
