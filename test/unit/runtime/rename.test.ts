/** rename: create's name rules, uniqueness under the names lock, the record changed in place. */
import { describe, expect, it } from 'vitest';
import { renameContainer } from '../../../src/runtime/rename.js';
import { fakeLifecycle } from './lifecycle-fake.js';

describe('renameContainer', () => {
  it('renames a running container by name or ID; the record keeps everything else', async () => {
    const { e, put } = fakeLifecycle();
    const a = await put({ name: 'web' });
    const r = await renameContainer(e, 'web', 'web-2');
    expect(r.name).toBe('web-2');
    const saved = await e.containers.load(a.id);
    expect({ ...saved, name: 'web' }).toEqual(a);
    await renameContainer(e, a.id.slice(0, 12), 'web.3');
    expect((await e.containers.resolve('web.3')).id).toBe(a.id);
    await expect(e.containers.resolve('web')).rejects.toMatchObject({ code: 'RUNTIME_CONTAINER_NOT_FOUND' });
  });

  it('refuses a taken name, an invalid one, the same one; an unknown container is not found', async () => {
    const { e, put } = fakeLifecycle();
    await put({ name: 'a' });
    await put({ name: 'b', status: 'exited' });
    await expect(renameContainer(e, 'a', 'b')).rejects.toMatchObject({
      code: 'RUNTIME_NAME_IN_USE',
      message: expect.stringMatching(/"b" is already in use/),
    });
    for (const bad of ['', '-x', 'a/b', 'x'.repeat(129), 'a b'])
      await expect(renameContainer(e, 'a', bad), bad).rejects.toMatchObject({
        code: 'RUNTIME_INVALID_OPTION',
      });
    await expect(renameContainer(e, 'a', 'a')).rejects.toMatchObject({
      code: 'RUNTIME_INVALID_OPTION',
      message: 'container a is already named a',
    });
    await expect(renameContainer(e, 'nope', 'c')).rejects.toMatchObject({
      code: 'RUNTIME_CONTAINER_NOT_FOUND',
    });
  });

  it('two renames to one name at once: one wins, the other is told the name is taken', async () => {
    const { e, put } = fakeLifecycle();
    await put({ name: 'x' });
    await put({ name: 'y' });
    const res = await Promise.allSettled([renameContainer(e, 'x', 'z'), renameContainer(e, 'y', 'z')]);
    expect(res.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(res.find((r) => r.status === 'rejected')).toMatchObject({
      reason: { code: 'RUNTIME_NAME_IN_USE' },
    });
    expect((await e.containers.list()).filter((c) => c.name === 'z')).toHaveLength(1);
  });
});
