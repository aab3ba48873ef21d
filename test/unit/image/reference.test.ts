import { describe, expect, it } from 'vitest';
import {
  localCandidates,
  normalizeForStore,
  parseReference,
  type ImageReference,
} from '../../../src/image/reference.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseReference', () => {
  it.each<[string, ImageReference]>([
    ['alpine', { path: 'alpine' }],
    ['alpine:3.19', { path: 'alpine', tag: '3.19' }],
    ['library/alpine', { path: 'library/alpine' }],
    ['foo/bar/baz:v1', { path: 'foo/bar/baz', tag: 'v1' }],
    ['docker.io/library/alpine:latest', { host: 'docker.io', path: 'library/alpine', tag: 'latest' }],
    ['localhost/app', { host: 'localhost', path: 'app' }],
    ['localhost:5000/app:dev', { host: 'localhost:5000', path: 'app', tag: 'dev' }],
    ['registry.example.com:443/team/app', { host: 'registry.example.com:443', path: 'team/app' }],
    ['[::1]:5000/app', { host: '[::1]:5000', path: 'app' }],
    ['Example.COM/app', { host: 'Example.COM', path: 'app' }],
    [`alpine@${D}`, { path: 'alpine', digest: D }],
    [`quay.io/a/b:t@${D}`, { host: 'quay.io', path: 'a/b', tag: 't', digest: D }],
    ['a_b__c-d---e.f', { path: 'a_b__c-d---e.f' }],
    ['app:_tag.1-x', { path: 'app', tag: '_tag.1-x' }],
    // "localhost" alone is a repository, and what follows ':' is its tag
    ['localhost:5000', { path: 'localhost', tag: '5000' }],
  ])('%s', (input, want) => {
    expect(parseReference(input)).toEqual(want);
  });

  it.each([
    '',
    'Alpine',
    'foo/Bar',
    'alpine:',
    ':tag',
    'alpine:-bad',
    'alpine:' + 'x'.repeat(129),
    'a//b',
    'a/',
    '-a',
    'a..b',
    'alpine@sha256:abc',
    `alpine@sha256:${'A'.repeat(64)}`,
    `alpine@sha512:${'a'.repeat(128)}`,
    'bad_host.com/app',
    'host.com:port/app',
    'x'.repeat(256),
    'a b',
  ])('rejects %j with IMAGE_INVALID_REFERENCE', (input) => {
    expect(() => parseReference(input)).toThrow(expect.objectContaining({ code: 'IMAGE_INVALID_REFERENCE' }));
  });
});

describe('normalizeForStore', () => {
  it.each<[string, 'local' | 'docker', string]>([
    ['app', 'local', 'localhost/app:latest'],
    ['app:1', 'local', 'localhost/app:1'],
    ['team/app:1', 'local', 'localhost/team/app:1'],
    ['localhost/app', 'local', 'localhost/app:latest'],
    ['quay.io/a/b', 'local', 'quay.io/a/b:latest'],
    ['busybox', 'docker', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker', 'docker.io/library/busybox:1.36'],
    ['me/tool:v2', 'docker', 'docker.io/me/tool:v2'],
    ['ghcr.io/me/tool:v2', 'docker', 'ghcr.io/me/tool:v2'],
    ['docker.io/alpine', 'local', 'docker.io/library/alpine:latest'],
    ['index.docker.io/me/x:1', 'local', 'docker.io/me/x:1'],
  ])('%s (%s) → %s', (input, origin, want) => {
    expect(normalizeForStore(input, origin)).toBe(want);
  });

  it('refuses a digest in a name to store', () => {
    expect(() => normalizeForStore(`app@${D}`)).toThrow(
      expect.objectContaining({ code: 'IMAGE_INVALID_REFERENCE' }),
    );
  });
});

describe('localCandidates', () => {
  it.each<[string, string[]]>([
    ['alpine', ['localhost/alpine:latest', 'docker.io/library/alpine:latest']],
    ['alpine:3', ['localhost/alpine:3', 'docker.io/library/alpine:3']],
    ['me/tool', ['localhost/me/tool:latest', 'docker.io/me/tool:latest']],
    ['localhost/alpine', ['localhost/alpine:latest']],
    ['docker.io/alpine:3', ['docker.io/library/alpine:3']],
    ['quay.io/x/y:z', ['quay.io/x/y:z']],
    [`alpine:3@${D}`, [`localhost/alpine@${D}`, `docker.io/library/alpine@${D}`]],
  ])('%s', (input, want) => {
    expect(localCandidates(input)).toEqual(want);
  });
});
