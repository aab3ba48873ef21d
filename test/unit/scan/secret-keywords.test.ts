import { describe, expect, it } from 'vitest';
import { SECRET_RULES } from '../../../src/scan/rules/secret-rules.js';
import { scanBytes, scanText } from '../../../src/scan/rules/secrets.js';
import { B64, fake, rand, randDistinct } from './helpers.js';

/**
 * The scanner looks for the rules' keywords first (one automaton over the bytes) and tries an
 * `anchored` rule's pattern only where one of its keywords starts. These tests hold the rule table
 * to what that relies on, and the scan to what the plain regexes find.
 */

/** Texts with a match of every anchored rule, in places and cases a scan must not miss. */
function samples(): { text: string; path: string }[] {
  const id = fake.awsKeyId();
  const secret = randDistinct(40, B64);
  const azure = fake.azureKey();
  const generic = randDistinct(20);
  return [
    { text: `key=${id}\naws_secret_access_key = ${secret}\n`, path: 'app/creds' },
    { text: `AWS_SECRET_KEY: "${secret}"\nx${id}y ${id}\n`, path: 'app/creds' },
    { text: `DefaultEndpointsProtocol=https;AccountKey=${azure};EndpointSuffix=core`, path: 'app/conn' },
    { text: `AZURE_STORAGE_KEY="${azure}"\nazurekey: ${azure}\n`, path: 'app/env.sh' },
    { text: `t=${fake.github()} u=github_pat_${rand(82, 'abcXYZ019_')}\n`, path: 'app/t' },
    { text: `${fake.gitlab()} ${fake.slack()} ${fake.npm()}`, path: 'app/t' },
    { text: `Authorization: Bearer ${fake.jwt()}\n`, path: 'app/h' },
    { text: `//registry.npmjs.org/:_authToken=${rand(36)}\n_password=${rand(12)}\n`, path: 'home/u/.npmrc' },
    {
      text: `{"auths":{"r":{"auth":"${rand(24, B64)}","identitytoken":"${rand(30)}"}}}`,
      path: 'root/.docker/config.json',
    },
    {
      text: `const apiKey = '${generic}';\nDB_PASSWORD: "${generic}"\nsecret_token => \`${generic}\`\nX_API-KEY="${generic}"`,
      path: 'app/conf.js',
    },
    // Keywords inside other keywords and overlapping each other.
    {
      text: `passwordtoken = "${generic}"\napikeytoken: '${generic}'\nsecretoken="${generic}"`,
      path: 'app/o',
    },
  ];
}

describe('secret rule keywords', () => {
  it('every match of an anchored rule starts where one of its keywords starts', () => {
    const seen = new Set<string>();
    for (const { text } of samples()) {
      for (const rule of SECRET_RULES.filter((r) => r.anchored)) {
        for (const m of text.matchAll(new RegExp(rule.pattern.source, rule.pattern.flags))) {
          seen.add(rule.id);
          const here = text.slice(m.index).toLowerCase();
          expect(
            rule.keywords.some((k) => here.startsWith(k.toLowerCase())),
            `${rule.id} at ${m.index}`,
          ).toBe(true);
        }
      }
    }
    // The samples exercise every anchored rule.
    expect([...seen].sort()).toEqual(
      SECRET_RULES.filter((r) => r.anchored)
        .map((r) => r.id)
        .sort(),
    );
  });

  it('the scan finds what the rule patterns find, from text or bytes', () => {
    for (const { text, path } of samples()) {
      const src = { path, reportPath: true };
      const found = scanText(text, src);
      expect(scanBytes(Buffer.from(text, 'latin1'), src)).toEqual(found);
      // Every rule whose pattern matches (and that applies to the path) is reported or superseded.
      const lines = new Map<number, string[]>();
      for (const f of found) lines.set(f.line!, [...(lines.get(f.line!) ?? []), f.rule]);
      expect(found.length).toBeGreaterThan(0);
      for (const rule of SECRET_RULES) {
        if (rule.paths || rule.requires || rule.reject || rule.entropy !== undefined) continue;
        for (const m of text.matchAll(new RegExp(rule.pattern.source, rule.pattern.flags))) {
          const line = text.slice(0, m.index + m[0].lastIndexOf(m.groups!.secret)).split('\n').length;
          const there = lines.get(line) ?? [];
          const superseded = there.some((id) =>
            SECRET_RULES.find((r) => r.id === id)?.supersedes?.includes(rule.id),
          );
          expect(there.includes(rule.id) || superseded, `${rule.id} on line ${line} of ${path}`).toBe(true);
        }
      }
    }
  });

  it('a long text is read in four parts: a keyword across a boundary between them is found', () => {
    const token = fake.github();
    // The longest keyword of a rule without a path glob: it starts furthest before a boundary.
    const pat = `github_pat_${rand(82, 'abcXYZ019_')}`;
    for (const n of [4096, 4099, 10_001]) {
      const q = Math.ceil(n / 4);
      for (const boundary of [q, 2 * q, 3 * q]) {
        for (let at = boundary - 24; at <= boundary + 2; at++) {
          for (const secret of [token, pat]) {
            const text = ' '.repeat(at) + secret + ' '.repeat(Math.max(0, n - at - secret.length));
            const src = { path: 'a', reportPath: true };
            const found = scanBytes(Buffer.from(text), src).map((f) => f.detail);
            expect(found, `${n} ${at}`).toEqual([`${secret.slice(0, 4)}…`]);
            expect(scanText(text, src).map((f) => f.detail)).toEqual(found);
          }
        }
      }
    }
  });

  it('keywords are found across the whole text, in any case', () => {
    const token = fake.github();
    // At the very end, after a megabyte of near misses.
    const text = 'gh_ghx_'.repeat(150_000) + `\n${token}`;
    expect(scanText(text, { path: 'a', reportPath: true }).map((f) => f.rule)).toEqual([
      'secret.github-token',
    ]);
    expect(scanBytes(Buffer.from(text), { path: 'a', reportPath: true }).map((f) => f.rule)).toEqual([
      'secret.github-token',
    ]);
    // A character beyond latin1 is in no keyword, and does not hide one that follows.
    expect(scanText(`\u{1F600}${token}`, { path: 'a', reportPath: true }).map((f) => f.rule)).toEqual([
      'secret.github-token',
    ]);
    // A case-insensitive rule's keyword in capitals.
    const secret = randDistinct(40, B64);
    expect(
      scanBytes(Buffer.from(`AWS_SECRET_ACCESS_KEY=${secret}`), { path: 'a', reportPath: true }),
    ).toEqual([expect.objectContaining({ rule: 'secret.aws-secret-access-key', line: 1 })]);
  });
});
