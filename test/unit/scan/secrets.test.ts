import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImageStore } from '../../../src/image/store.js';
import { scanImage } from '../../../src/scan/index.js';
import { SECRET_RULES } from '../../../src/scan/rules/secret-rules.js';
import { redact, scanText, secretAllowFilter } from '../../../src/scan/rules/secrets.js';
import type { Finding } from '../../../src/scan/types.js';
import { B64, brief, CLEAN_BASE, fake, rand, randDistinct, storeImage, tempStore } from './helpers.js';

const inFile = (text: string, path = 'app/config.txt'): Record<string, unknown>[] =>
  scanText(text, { path, reportPath: true }).map(brief);
const hit = (rule: string, line: number, secret: string, path = 'app/config.txt') => ({
  rule,
  path,
  line,
  detail: redact(secret),
});

describe('secret rules, one by one', () => {
  it('PEM and OpenSSH private keys (the line of BEGIN, the body redacted)', () => {
    const body = fake.pemBody();
    const pem = `# key\n-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----\n`;
    expect(inFile(pem)).toEqual([hit('secret.private-key', 2, body)]);
    const ssh = `-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl${rand(60, B64)}\n-----END OPENSSH PRIVATE KEY-----\n`;
    expect(inFile(ssh)).toEqual([
      { rule: 'secret.private-key', path: 'app/config.txt', line: 1, detail: 'b3Bl…' },
    ]);
    const enc = `-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n${body}\n`;
    expect(inFile(enc)).toEqual([hit('secret.private-key', 1, body)]);
    expect(inFile('-----BEGIN PUBLIC KEY-----\nMIIB\n')).toEqual([]);
  });

  it('an AWS access key ID, and its secret key beside it or named', () => {
    const id = fake.awsKeyId();
    const secret = fake.awsSecret().replace(/^./, 'a').replace(/.$/, 'Z');
    expect(inFile(`key=${id}\n`)).toEqual([hit('secret.aws-access-key-id', 1, id)]);
    expect(inFile(`User,Access key ID,Secret access key\nci,${id},${secret}\n`)).toEqual([
      hit('secret.aws-access-key-id', 2, id),
      hit('secret.aws-secret-access-key', 2, secret),
    ]);
    expect(inFile(`[default]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`)).toEqual([
      hit('secret.aws-access-key-id', 2, id),
      hit('secret.aws-secret-access-key', 3, secret),
    ]);
    // 40 hex characters (a sha1) beside an ID are not a secret key.
    expect(inFile(`${id}\n${'0123456789abcdef0123456789abcdef01234567'}\n`)).toEqual([
      hit('secret.aws-access-key-id', 1, id),
    ]);
  });

  it('a GCP service account key file (not also reported as a bare private key)', () => {
    const body = fake.pemBody();
    const json = JSON.stringify(
      {
        type: 'service_account',
        project_id: 'demo',
        private_key_id: rand(40, 'abcdef0123456789'),
        private_key: `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`,
        client_email: 'demo@demo.iam.gserviceaccount.com',
      },
      null,
      2,
    );
    expect(inFile(json, 'app/sa.json')).toEqual([hit('secret.gcp-service-account', 5, body, 'app/sa.json')]);
  });

  it('Azure storage connection strings and keys', () => {
    const key = fake.azureKey();
    expect(
      inFile(
        `conn = "DefaultEndpointsProtocol=https;AccountName=demo;AccountKey=${key};EndpointSuffix=core.windows.net"\n`,
      ),
    ).toEqual([hit('secret.azure-storage-connection-string', 1, key)]);
    expect(inFile(`AZURE_STORAGE_KEY: ${key}\n`)).toEqual([hit('secret.azure-storage-key', 1, key)]);
  });

  it('GitHub, GitLab, Slack and npm tokens', () => {
    const gh = fake.github();
    const pat = 'github_pat_' + rand(82);
    const gl = fake.gitlab();
    const sl = fake.slack();
    const npm = fake.npm();
    expect(inFile(`a ${gh}\nb ${pat}\nc ${gl}\nd ${sl}\ne ${npm}\n`)).toEqual([
      hit('secret.github-token', 1, gh),
      hit('secret.github-token', 2, pat),
      hit('secret.gitlab-token', 3, gl),
      hit('secret.slack-token', 4, sl),
      hit('secret.npm-token', 5, npm),
    ]);
    // Inside a longer word, a token prefix is not a token.
    expect(inFile(`x${gh}y\n`)).toEqual([]);
  });

  it('JWTs', () => {
    const jwt = fake.jwt();
    expect(inFile(`Authorization: Bearer ${jwt}\n`)).toEqual([hit('secret.jwt', 1, jwt)]);
  });

  it('.env, .npmrc and Docker config.json credentials (by path)', () => {
    const pw = randDistinct(16);
    const env = `# settings\nDEBUG=1\nDB_PASSWORD=${pw}\nAPI_TOKEN=\${TOKEN}\nexport STRIPE_SECRET='${pw}'\n`;
    expect(inFile(env, 'srv/.env')).toEqual([
      hit('secret.dotenv', 3, pw, 'srv/.env'),
      hit('secret.dotenv', 5, pw, 'srv/.env'),
    ]);
    expect(inFile(`DB_PASSWORD="${pw}"\n`, 'srv/notes.txt')).toEqual([
      hit('secret.generic-assignment', 1, pw, 'srv/notes.txt'),
    ]);
    expect(inFile(`DB_PASSWORD=${pw}\n`, 'srv/notes.txt')).toEqual([]);

    const tok = rand(32);
    const npmrc = `registry=https://registry.example/\n//registry.example/:_authToken=${tok}\n//other/:_authToken=\${NPM_TOKEN}\n`;
    expect(inFile(npmrc, 'root/.npmrc')).toEqual([hit('secret.npmrc-auth', 2, tok, 'root/.npmrc')]);
    const npm = fake.npm();
    expect(inFile(`//registry.npmjs.org/:_authToken=${npm}\n`, 'root/.npmrc')).toEqual([
      hit('secret.npm-token', 1, npm, 'root/.npmrc'),
    ]);

    const auth = Buffer.from(`user:${rand(20)}`).toString('base64');
    const docker = JSON.stringify(
      { auths: { 'registry.example': { auth }, 'empty.example': { auth: '' } } },
      null,
      2,
    );
    expect(inFile(docker, 'root/.docker/config.json')).toEqual([
      hit('secret.docker-config-auth', 4, auth, 'root/.docker/config.json'),
    ]);
    expect(inFile(docker, 'app/config.json')).toEqual([]);
  });

  it('generic assignments only when the value has high entropy and is not code or a placeholder', () => {
    const v = randDistinct(24);
    expect(inFile(`password = "${v}"\n`)).toEqual([hit('secret.generic-assignment', 1, v)]);
    expect(inFile('password = "aaaaaaaaaaaaaaaa"\n')).toEqual([]);
    expect(inFile('token = getTokenFromEnvironment(config)\n')).toEqual([]);
    expect(inFile(`token = ${v}\n`)).toEqual([]);
    expect(inFile("password_type = 'typing.Optional.bytes'\n")).toEqual([]);
    expect(inFile('token_url = "https://login.example.com/oauth2/token"\n')).toEqual([]);
    expect(inFile('secret: ${SECRET_FROM_VAULT_VALUE}\n')).toEqual([]);
    expect(inFile('api_key = "your_api_key_goes_here"\n')).toEqual([]);
  });

  it('every rule has a unique id, a description and a global pattern with a secret group', () => {
    const ids = SECRET_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of SECRET_RULES) {
      expect(r.id).toMatch(/^secret\.[a-z0-9-]+$/);
      expect(r.pattern.flags).toContain('g');
      expect(r.pattern.source).toContain('(?<secret>');
      expect(r.description).not.toBe('');
    }
  });
});

describe('secret rules on hostile input', () => {
  // Each line is a megabyte of what would make a careless pattern backtrack.
  const MB = 1 << 20;
  const lines = [
    'A'.repeat(MB),
    'AKIA'.repeat(MB / 4),
    'eyJ-'.repeat(MB / 4),
    'eyJ' + 'a'.repeat(MB),
    'eyJaaaaaaaaaa.eyJ'.repeat(MB / 17),
    'password='.repeat(MB / 9),
    'password = ' + 'x'.repeat(MB),
    '-----BEGIN '.repeat(MB / 11),
    '-----BEGIN PRIVATE KEY-----\nA:'.repeat(MB / 32),
    'ghp_'.repeat(MB / 4),
    'xoxb-'.repeat(MB / 5),
    'glpat-'.repeat(MB / 6),
    'AccountKey='.repeat(MB / 11),
    'aws_secret_access_key='.repeat(MB / 22),
    '"type": "service_account" "private_key": "'.repeat(MB / 44),
    ' '.repeat(MB) + 'x',
  ];
  it.each(lines.map((l, i) => [i, l]))('line %i is scanned in linear time', (_i, line) => {
    for (const path of ['a.txt', 'srv/.env', 'root/.npmrc', 'root/.docker/config.json']) {
      const t = performance.now();
      scanText(line as string, { path, reportPath: true });
      expect(performance.now() - t).toBeLessThan(1500);
    }
  });
});

describe('secrets in an image', () => {
  let store: ImageStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ store, cleanup } = await tempStore()));
  afterEach(() => cleanup());

  const secrets = (fs: Finding[]) => fs.filter((f) => f.kind === 'secret');

  it('files of every layer, with layer, path, line and redaction; binaries skipped; the per-file cap holds', async () => {
    const gh = fake.github();
    const npm = fake.npm();
    const deep = fake.gitlab();
    const img = await storeImage(store, [
      CLEAN_BASE,
      [
        { name: 'app/', type: 'directory' },
        { name: 'app/deploy.sh', content: `#!/bin/sh\n\ncurl -H "token ${gh}"\n` },
        { name: 'app/blob.bin', content: Buffer.concat([Buffer.from([0]), Buffer.from(` ${npm}\n`)]) },
        { name: 'app/big.txt', content: 'x\n'.repeat(600_000) + deep },
      ],
      // Deleting the script later does not unpublish the token: it is still in the layer below.
      [{ name: 'app/.wh.deploy.sh', content: '' }],
    ]);
    const r = await scanImage(store, img.record, { cache: false });
    expect(secrets(r.findings).map((f) => ({ ...brief(f), layer: f.layer, severity: f.severity }))).toEqual([
      {
        rule: 'secret.github-token',
        path: 'app/deploy.sh',
        line: 3,
        detail: gh.slice(0, 4) + '…',
        layer: img.layerDigests[1],
        severity: 'critical',
      },
    ]);
    expect(JSON.stringify(r)).not.toContain(gh);
    const big = await scanImage(store, img.record, { cache: false, limits: { secretMaxFileBytes: 2 << 20 } });
    expect(secrets(big.findings).map((f) => f.path)).toEqual(['app/deploy.sh', 'app/big.txt']);
  });

  it('allow-list by path glob and by rule id; the defaults skip package docs and test trees', async () => {
    const img = await storeImage(store, [
      CLEAN_BASE,
      [
        { name: 'srv/a.txt', content: `${fake.github()}\n` },
        { name: 'srv/b.txt', content: `${fake.jwt()}\n` },
        { name: 'usr/share/doc/x/README', content: `${fake.github()}\n` },
        {
          name: 'app/node_modules/jws/test/key.pem',
          content: `-----BEGIN PRIVATE KEY-----\n${fake.pemBody()}\n`,
        },
      ],
    ]);
    const paths = async (opts: Parameters<typeof secretAllowFilter>[0]) =>
      secrets((await scanImage(store, img.record, { cache: false, secrets: opts })).findings).map(
        (f) => f.path,
      );
    expect(await paths({})).toEqual(['srv/a.txt', 'srv/b.txt']);
    expect(await paths({ allow: [{ path: 'srv/a.*' }] })).toEqual(['srv/b.txt']);
    expect(await paths({ allow: [{ rule: 'secret.jwt' }] })).toEqual(['srv/a.txt']);
    expect(await paths({ allow: [{ rule: 'secret.jwt', path: 'elsewhere/**' }] })).toEqual([
      'srv/a.txt',
      'srv/b.txt',
    ]);
    expect(await paths({ defaultAllow: false })).toEqual([
      'srv/a.txt',
      'srv/b.txt',
      'usr/share/doc/x/README',
      'app/node_modules/jws/test/key.pem',
    ]);
  });
});
