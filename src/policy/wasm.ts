/**
 * OPA-compiled policies: a `bundle.tar.gz` from `opa build -t wasm` (policy.wasm + data.json) or a
 * bare `.wasm`, evaluated with @open-policy-agent/opa-wasm behind the same result-set interface as
 * the native engine.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { RegoError } from './errors.js';
import type { ResultSet } from './engine.js';

interface LoadedPolicy {
  evaluate(input: unknown, entrypoint?: number | string): { result: unknown }[];
  setData(data: object): void;
  entrypoints: Record<string, number>;
}
type LoadPolicy = (wasm: BufferSource, memory?: number) => Promise<LoadedPolicy>;

const require = createRequire(import.meta.url);

function wasmError(msg: string, cause?: unknown): RegoError {
  return new RegoError('POLICY_WASM_ERROR', msg, undefined, undefined, {
    cause,
    hint: 'build the bundle with `opa build -t wasm -e <entrypoint> ...`',
  });
}

/** Extracts policy.wasm and data.json from a (gzipped) tar bundle. */
export async function readBundle(buf: Buffer): Promise<{ wasm: Buffer; data?: unknown }> {
  // tar-stream is loaded only for bundles (importing the policy engine should not pay for it)
  const { default: tar } = await import('tar-stream');
  let tarBuf: Buffer;
  try {
    tarBuf = buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf;
  } catch (e) {
    throw wasmError('bundle is not a valid gzip archive', e);
  }
  const files = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    const ex = tar.extract();
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') files.set(header.name.replace(/^\.?\//, ''), Buffer.concat(chunks));
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', (e: Error) => reject(wasmError('bundle is not a valid tar archive', e)));
    ex.end(tarBuf);
  });
  const wasm =
    files.get('policy.wasm') ?? [...files.entries()].find(([n]) => n.endsWith('/policy.wasm'))?.[1];
  if (!wasm) throw wasmError('bundle has no policy.wasm (was it built with `-t wasm`?)');
  const dataBuf = files.get('data.json');
  let data: unknown;
  if (dataBuf) {
    try {
      data = JSON.parse(dataBuf.toString('utf8'));
    } catch (e) {
      throw wasmError('bundle data.json is not valid JSON', e);
    }
  }
  return { wasm, data };
}

export class WasmPolicy {
  private constructor(
    private readonly policy: LoadedPolicy,
    readonly entrypoints: string[],
  ) {}

  /** Loads from bytes: a wasm module (magic \0asm) or a bundle (tar or tar.gz). */
  static async fromBytes(buf: Buffer, data?: unknown): Promise<WasmPolicy> {
    let wasm = buf;
    let bundleData: unknown;
    if (!(buf.length >= 4 && buf.readUInt32BE(0) === 0x0061736d)) {
      const b = await readBundle(buf);
      wasm = b.wasm;
      bundleData = b.data;
    }
    const { loadPolicy } = require('@open-policy-agent/opa-wasm') as { loadPolicy: LoadPolicy };
    let policy: LoadedPolicy;
    try {
      policy = await loadPolicy(new Uint8Array(wasm));
    } catch (e) {
      throw wasmError(`cannot load wasm policy: ${(e as Error).message}`, e);
    }
    const d = data ?? bundleData;
    if (d !== undefined) {
      try {
        policy.setData(d as object);
      } catch (e) {
        throw wasmError(`wasm policy refused its data: ${e instanceof Error ? e.message : String(e)}`, e);
      }
    }
    // by id: entrypoints[0] is what the SDK evaluates by default (OPA lists them by name, not id)
    const eps = Object.entries(policy.entrypoints ?? {})
      .sort(([, a], [, b]) => a - b)
      .map(([name]) => name);
    return new WasmPolicy(policy, eps);
  }

  static async fromFile(path: string, data?: unknown): Promise<WasmPolicy> {
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (e) {
      throw new RegoError('POLICY_IO_ERROR', `cannot read ${path}`, undefined, undefined, { cause: e });
    }
    return WasmPolicy.fromBytes(buf, data);
  }

  /** Evaluates an entrypoint (default: the first). Result set shaped like the native engine's. */
  evaluate(input?: unknown, entrypoint?: string): ResultSet {
    if (entrypoint !== undefined && !this.entrypoints.includes(entrypoint)) {
      throw wasmError(`unknown entrypoint ${entrypoint}; have: ${this.entrypoints.join(', ')}`);
    }
    let rs: { result: unknown }[];
    try {
      rs = this.policy.evaluate(input, entrypoint);
    } catch (e) {
      // the SDK and opa_abort throw bare strings (e.g. a conflict or an aborted builtin at run time)
      const msg = e instanceof Error ? e.message : String(e);
      throw wasmError(`wasm policy evaluation failed: ${msg}`, e);
    }
    return (rs ?? []).map((r) => ({
      expressions: [
        { value: r.result, text: entrypoint ?? this.entrypoints[0] ?? '', location: { row: 1, col: 1 } },
      ],
      bindings: {},
    }));
  }
}
