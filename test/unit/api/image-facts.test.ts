/** Image facts: every name, the ID and the digest, not only what the client typed. */
import { describe, expect, it } from 'vitest';
import { imageFacts } from '../../../src/api/image-facts.js';
import type { ImageRecord } from '../../../src/image/types.js';

const id = `sha256:${'b'.repeat(64)}`;
const digest = `sha256:${'a'.repeat(64)}`;
const rec: ImageRecord = {
  id,
  manifestDigest: digest,
  names: ['localhost/mine:1', 'docker.io/evil/x:1'],
  repoDigests: [`docker.io/evil/x@${digest}`],
  created: '2026-01-01T00:00:00Z',
  layers: [],
  size: 0,
};

describe('imageFacts', () => {
  it('gives every name, repository, the ID, the manifest digest and an empty signer list', () => {
    const f = imageFacts(rec, 'mine:1');
    expect(f).toEqual({
      ref: 'mine:1',
      reference: 'localhost/mine:1',
      names: ['localhost/mine:1', 'docker.io/evil/x:1'],
      repo_digests: [`docker.io/evil/x@${digest}`],
      repositories: ['localhost/mine', 'docker.io/evil/x'],
      id,
      digest,
      signers: [],
    });
  });

  it('the canonical reference of an ID, an ID prefix, a sha256: form and a digest reference', () => {
    expect(imageFacts(rec, id).reference).toBe(id);
    expect(imageFacts(rec, 'bbbbbb').reference).toBe(id);
    expect(imageFacts(rec, `sha256:${'b'.repeat(12)}`).reference).toBe(id);
    expect(imageFacts(rec, `docker.io/evil/x@${digest}`).reference).toBe(`docker.io/evil/x@${digest}`);
    expect(imageFacts(rec, `evil/x:1`).reference).toBe('docker.io/evil/x:1');
  });
});
