import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { WasmPolicy } from '../../../src/policy/wasm.js';

// fixtures-wasm/authz.wat is a hand-written module implementing the OPA wasm ABI calls the SDK
// makes (see its header): entrypoint 0 moat/authz/allow is true iff the input's JSON text contains
// "user":"alice" (and aborts on "abort":true); entrypoint 1 moat/authz/data returns the data document.
// authz.wasm declares ABI 1.2 (SDK fast path `opa_eval`), authz-abi1.1.wasm ABI 1.1 (ctx/eval path).
const dir = fileURLToPath(new URL('./fixtures-wasm/', import.meta.url));
const fixtures = ['authz.wasm', 'authz-abi1.1.wasm'] as const;
const tmp = mkdtempSync(join(tmpdir(), 'moat-wasm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function makeTar(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const value = (rs: ReturnType<WasmPolicy['evaluate']>) => rs.map((r) => r.expressions[0]?.value);

describe.each(fixtures)('hand-written OPA ABI module %s', (fixture) => {
  const file = join(dir, fixture);

  it('loads as a bare .wasm and lists entrypoints by id', async () => {
    const p = await WasmPolicy.fromFile(file);
    // the module lists them as {"moat/authz/data":1,"moat/authz/allow":0}
    expect(p.entrypoints).toEqual(['moat/authz/allow', 'moat/authz/data']);
  });

  it('evaluates the default entrypoint (id 0) for allow and deny inputs', async () => {
    const p = await WasmPolicy.fromFile(file);
    expect(p.evaluate({ user: 'alice', action: 'create' })).toEqual([
      {
        expressions: [{ value: true, text: 'moat/authz/allow', location: { row: 1, col: 1 } }],
        bindings: {},
      },
    ]);
    expect(value(p.evaluate({ user: 'bob' }))).toEqual([false]);
    expect(value(p.evaluate({ nested: { user: 'alice' } }))).toEqual([true]);
    expect(value(p.evaluate(undefined))).toEqual([false]);
    expect(value(p.evaluate({}))).toEqual([false]);
  });

  it('selects entrypoints by name', async () => {
    const p = await WasmPolicy.fromFile(file, { roles: { alice: ['admin'] } });
    expect(value(p.evaluate({ user: 'alice' }, 'moat/authz/allow'))).toEqual([true]);
    const rs = p.evaluate({ user: 'alice' }, 'moat/authz/data');
    expect(value(rs)).toEqual([{ roles: { alice: ['admin'] } }]);
    expect(rs[0]?.expressions[0]?.text).toBe('moat/authz/data');
  });

  it('refuses an unknown entrypoint with POLICY_WASM_ERROR naming the known ones', async () => {
    const p = await WasmPolicy.fromFile(file);
    expect(() => p.evaluate({}, 'moat/authz/deny')).toThrow(
      expect.objectContaining({
        code: 'POLICY_WASM_ERROR',
        message: expect.stringContaining('moat/authz/allow, moat/authz/data') as unknown,
      }),
    );
  });

  it('reports an opa_abort during evaluation as POLICY_WASM_ERROR', async () => {
    const p = await WasmPolicy.fromFile(file);
    expect(() => p.evaluate({ abort: true })).toThrow(
      expect.objectContaining({
        code: 'POLICY_WASM_ERROR',
        message: expect.stringContaining('input asked to abort') as unknown,
      }),
    );
    // the instance is still usable afterwards
    expect(value(p.evaluate({ user: 'alice' }))).toEqual([true]);
  });

  it('handles inputs larger than the initial memory, and many evaluations', async () => {
    const p = await WasmPolicy.fromFile(file);
    const big = 'x'.repeat(1 << 20); // 5 pages (320 KiB) initially
    expect(value(p.evaluate({ pad: big, user: 'alice' }))).toEqual([true]);
    for (let i = 0; i < 500; i++) {
      expect(value(p.evaluate({ user: i % 2 ? 'alice' : 'bob', i }))).toEqual([i % 2 === 1]);
    }
  });

  it('loads a bundle.tar.gz (policy.wasm + data.json) and uses its data', async () => {
    const data = { limits: { cpus: 2 }, users: ['alice'] };
    const bundle = gzipSync(
      await makeTar({
        '/data.json': Buffer.from(JSON.stringify(data)),
        '/policy.wasm': readFileSync(file),
        '/.manifest': Buffer.from('{"revision":"test"}'),
      }),
    );
    const path = join(tmp, `${fixture}.tar.gz`);
    writeFileSync(path, bundle);
    const p = await WasmPolicy.fromFile(path);
    expect(value(p.evaluate({}, 'moat/authz/data'))).toEqual([data]);
    expect(value(p.evaluate({ user: 'alice' }))).toEqual([true]);
    expect(value(p.evaluate({ user: 'mallory' }))).toEqual([false]);
    // data passed by the caller replaces the bundle's
    const q = await WasmPolicy.fromFile(path, { other: true });
    expect(value(q.evaluate({}, 'moat/authz/data'))).toEqual([{ other: true }]);
  });

  it('loads an uncompressed tar bundle and one without data.json', async () => {
    const plain = await makeTar({ 'policy.wasm': readFileSync(file) });
    const p = await WasmPolicy.fromBytes(plain);
    // no data: the SDK's initial {} document
    expect(value(p.evaluate({}, 'moat/authz/data'))).toEqual([{}]);
    expect(value(p.evaluate({ user: 'alice' }))).toEqual([true]);
  });

  it('refuses a truncated or corrupted module with POLICY_WASM_ERROR', async () => {
    const wasm = readFileSync(file);
    await expect(WasmPolicy.fromBytes(wasm.subarray(0, wasm.length >> 1))).rejects.toMatchObject({
      code: 'POLICY_WASM_ERROR',
    });
    const bad = Buffer.from(wasm);
    bad[8] = 0x7f; // first section id: not a valid section
    await expect(WasmPolicy.fromBytes(bad)).rejects.toMatchObject({ code: 'POLICY_WASM_ERROR' });
    const bundle = gzipSync(await makeTar({ '/policy.wasm': wasm.subarray(0, 40) }));
    await expect(WasmPolicy.fromBytes(bundle)).rejects.toMatchObject({ code: 'POLICY_WASM_ERROR' });
  });
});

function hasWat2wasm(): boolean {
  try {
    execFileSync('wat2wasm', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('fixtures-wasm sources', () => {
  // the committed .wasm files are what the tests above load; CI installs wabt (.ci/run)
  it('committed .wasm files match authz.wat', () => {
    if (!hasWat2wasm()) throw new Error('wat2wasm is needed (apt-get install wabt; .ci/run installs it)');
    execFileSync('bash', [join(dir, 'build.sh'), '--check'], { stdio: 'pipe' });
  });
});
