import { describe, expect, it } from 'vitest';
import type { ImageConfig } from '../../../src/image/types.js';
import { configFindings } from '../../../src/scan/rules/config.js';
import { brief, CLEAN_RUNTIME, fake, randDistinct } from './helpers.js';

const config = (runtime: ImageConfig['config'], history: ImageConfig['history'] = []): ImageConfig => ({
  architecture: 'amd64',
  os: 'linux',
  config: runtime,
  rootfs: { type: 'layers', diff_ids: [] },
  history,
});

describe('image configuration', () => {
  it('nothing on a clean config', () => {
    expect(configFindings(config(CLEAN_RUNTIME, [{ created_by: 'ADD file:abc in / ' }]))).toEqual([]);
  });

  it('no USER, or USER root / 0 in any form', () => {
    expect(configFindings(config({ Cmd: ['sh'] })).map(brief)).toEqual([
      { rule: 'config.no-user', field: 'config.User' },
    ]);
    for (const u of ['root', '0', '0:0', 'root:wheel']) {
      expect(configFindings(config({ User: u })).map(brief)).toEqual([
        { rule: 'config.root-user', field: 'config.User', detail: u },
      ]);
    }
    expect(configFindings(config({ User: '1000:0' }))).toEqual([]);
  });

  it('exposed privileged ports', () => {
    const c = config({
      ...CLEAN_RUNTIME,
      ExposedPorts: { '80/tcp': {}, '8080/tcp': {}, '53/udp': {}, '443': {} },
    });
    expect(configFindings(c).map(brief)).toEqual([
      // JavaScript lists integer-like keys first.
      { rule: 'config.privileged-port', field: 'config.ExposedPorts', detail: '443' },
      { rule: 'config.privileged-port', field: 'config.ExposedPorts', detail: '80/tcp' },
      { rule: 'config.privileged-port', field: 'config.ExposedPorts', detail: '53/udp' },
    ]);
  });

  it('ADD of a remote URL in the history (not of a local file)', () => {
    const c = config(CLEAN_RUNTIME, [
      { created_by: '/bin/sh -c #(nop) ADD file:0123 in / ' },
      { created_by: 'ADD https://example.com/tool.tar.gz /opt/ # buildkit' },
      { created_by: 'ADD --chown=1000:1000 http://example.com/x /x # buildkit' },
      { created_by: 'RUN curl https://example.com/ADD' },
    ]);
    expect(configFindings(c).map(brief)).toEqual([
      {
        rule: 'config.add-remote-url',
        field: 'history[1].created_by',
        detail: 'https://example.com/tool.tar.gz',
      },
      { rule: 'config.add-remote-url', field: 'history[2].created_by', detail: 'http://example.com/x' },
    ]);
  });

  it('secrets in Env (credential-named variables too) and in build commands, redacted', () => {
    const gh = fake.github();
    const pw = randDistinct(16);
    const npm = fake.npm();
    const c = config(
      {
        ...CLEAN_RUNTIME,
        Env: ['PATH=/usr/bin', `GITHUB_TOKEN=${gh}`, `DB_PASSWORD=${pw}`, 'GPG_KEY=0123456789ABCDEF'],
      },
      [{ created_by: `RUN echo //registry.npmjs.org/:_authToken=${npm} > ~/.npmrc # buildkit` }],
    );
    const found = configFindings(c);
    expect(found.map((f) => ({ kind: f.kind, ...brief(f) }))).toEqual([
      {
        kind: 'secret',
        rule: 'secret.npm-token',
        field: 'history[0].created_by',
        detail: npm.slice(0, 4) + '…',
      },
      { kind: 'secret', rule: 'secret.github-token', field: 'config.Env[1]', detail: gh.slice(0, 4) + '…' },
      { kind: 'secret', rule: 'secret.dotenv', field: 'config.Env[2]', detail: pw.slice(0, 4) + '…' },
    ]);
    expect(found[1].title).toBe('GitHub token in the image config (Env GITHUB_TOKEN)');
    expect(JSON.stringify(found)).not.toContain(gh);
  });
});
