import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { WasmPolicy, readBundle } from '../../../src/policy/wasm.js';

async function makeTar(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

// Bundle handling and the loader's errors. Evaluation through the SDK is in wasm-abi.test.ts, with a
// hand-written module implementing OPA's wasm ABI (no `opa` here to compile a real policy).
describe('wasm bundles', () => {
  it('extracts policy.wasm and data.json from bundle.tar.gz', async () => {
    const wasm = Buffer.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    const buf = gzipSync(await makeTar({ '/policy.wasm': wasm, '/data.json': Buffer.from('{"a":1}') }));
    const b = await readBundle(buf);
    expect(b.wasm.equals(wasm)).toBe(true);
    expect(b.data).toEqual({ a: 1 });
  });
  it('refuses a bundle without policy.wasm', async () => {
    const buf = gzipSync(await makeTar({ '/data.json': Buffer.from('{}') }));
    await expect(WasmPolicy.fromBytes(buf)).rejects.toMatchObject({ code: 'POLICY_WASM_ERROR' });
  });
  it('refuses garbage', async () => {
    await expect(WasmPolicy.fromBytes(Buffer.from([0x1f, 0x8b, 1, 2, 3]))).rejects.toMatchObject({
      code: 'POLICY_WASM_ERROR',
    });
  });
  it('refuses a wasm module that is not an OPA policy', async () => {
    // the smallest valid wasm module: no imports or exports OPA expects
    await expect(
      WasmPolicy.fromBytes(Buffer.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0])),
    ).rejects.toMatchObject({ code: 'POLICY_WASM_ERROR' });
  });
  it('reports a missing file as POLICY_IO_ERROR', async () => {
    await expect(WasmPolicy.fromFile('/nonexistent/bundle.tar.gz')).rejects.toMatchObject({
      code: 'POLICY_IO_ERROR',
    });
  });
});
