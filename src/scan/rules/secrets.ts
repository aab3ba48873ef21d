import { DEFAULTS } from '../defaults.js';
import type { Finding, LayerEntry } from '../types.js';
import { shannonEntropy } from './entropy.js';
import { globMatcher } from './glob.js';
import { SECRET_RULES, type SecretRule } from './secret-rules.js';

/**
 * The secret scanner: the rule table run over text. Only a redacted prefix of a credential ever
 * leaves this file (its first four characters and `…`). Allow-listing is applied to the results
 * (secretAllowFilter), not while scanning, so cached layer results serve every allow-list.
 */

export interface SecretAllow {
  /** A rule id (`secret.jwt`); the entry matches every rule when absent. */
  rule?: string;
  /** A path glob (`usr/share/doc/**`); the entry matches every path when absent. */
  path?: string;
}

export interface SecretOptions {
  /** Findings matching any of these are dropped. */
  allow?: SecretAllow[];
  /** Apply DEFAULT_SECRET_ALLOW as well (default true). */
  defaultAllow?: boolean;
}

/** Places that ship example keys and tokens on purpose (test suites and docs of packages). */
export const DEFAULT_SECRET_ALLOW: readonly SecretAllow[] = [
  { path: 'usr/share/doc/**' },
  { path: '**/node_modules/**/test/**' },
  { path: '**/node_modules/**/tests/**' },
  { path: '**/node_modules/**/__tests__/**' },
  { path: '**/node_modules/**/fixtures/**' },
  { path: '**/site-packages/**/tests/**' },
  { path: '**/dist-packages/**/tests/**' },
  { path: 'usr/lib/python3*/test/**' },
  { path: 'usr/share/ca-certificates/**' },
  // Package metadata: READMEs with example tokens.
  { path: '**/*.dist-info/METADATA' },
  { path: '**/*.egg-info/PKG-INFO' },
];

/** The redacted form of a credential: enough to recognise which one, never enough to use it. */
export function redact(secret: string): string {
  return `${secret.slice(0, 4)}…`;
}

/** A binary file: a NUL byte in its first 8000 bytes (git's test). */
export function looksBinary(head: Uint8Array): boolean {
  const n = Math.min(head.length, 8000);
  for (let i = 0; i < n; i++) if (head[i] === 0) return true;
  return false;
}

interface CompiledRule {
  rule: SecretRule;
  keywords: readonly string[];
  paths?: (path: string) => boolean;
}

const COMPILED: readonly CompiledRule[] = SECRET_RULES.map((rule) => ({
  rule,
  keywords: rule.keywords.map((k) => k.toLowerCase()),
  ...(rule.paths ? { paths: globMatcher(rule.paths) } : {}),
}));

/** Every rule's keywords in one pattern: one pass over a text says which rules can match it. */
const KEYWORDS = new RegExp(
  [...new Set(COMPILED.flatMap((c) => c.keywords))]
    .sort((a, b) => b.length - a.length)
    .map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|'),
  'gi',
);

/** Each keyword with the keywords inside it (a match of `api_key` is also one of `key`). */
const CONTAINED = new Map(
  [...new Set(COMPILED.flatMap((c) => c.keywords))].map((k, _, all) => [k, all.filter((o) => k.includes(o))]),
);

/** The keywords present in `text` (lowercased), or undefined when none is. */
function keywordsIn(text: string): Set<string> | undefined {
  let found: Set<string> | undefined;
  KEYWORDS.lastIndex = 0;
  for (let m = KEYWORDS.exec(text); m !== null; m = KEYWORDS.exec(text)) {
    found ??= new Set();
    const k = m[0].toLowerCase();
    if (!found.has(k)) for (const c of CONTAINED.get(k) ?? [k]) found.add(c);
  }
  return found;
}

const SEVERITY_OF = new Map(SECRET_RULES.map((r) => [r.id, r]));

/** Where a text came from, for the findings. */
export interface TextSource {
  /** The path the rules' `paths` globs are matched against. */
  path: string;
  layer?: string;
  /** Report `path` (files) or leave it out (the image config: `field` says where). */
  reportPath: boolean;
}

/** Line starts of `text`, computed once and only when a rule matched. */
function lineOf(starts: number[], index: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

interface Hit {
  rule: SecretRule;
  line: number;
  secret: string;
}

/**
 * Secrets in `text` (a file read as latin1, so indexes are byte offsets; every rule is ASCII).
 * One finding per rule and line, the more precise rule winning where two describe one line.
 */
export function scanText(text: string, src: TextSource): Finding[] {
  const present = keywordsIn(text);
  if (!present) return [];
  let starts: number[] | undefined;
  const hits: Hit[] = [];
  for (const { rule, keywords, paths } of COMPILED) {
    if (!keywords.some((k) => present.has(k))) continue;
    if (paths && !paths(src.path)) continue;
    if (rule.requires && !rule.requires.test(text)) continue;
    rule.pattern.lastIndex = 0;
    for (const m of text.matchAll(rule.pattern)) {
      const secret = m.groups?.secret;
      if (!secret) continue;
      if (rule.reject?.test(secret)) continue;
      if (rule.entropy !== undefined && shannonEntropy(secret) < rule.entropy) continue;
      starts ??= lineStarts(text);
      const at = m.index + m[0].lastIndexOf(secret);
      hits.push({ rule, line: lineOf(starts, rule.id === 'secret.private-key' ? m.index : at), secret });
    }
  }
  hits.push(...awsPairs(text, hits, () => (starts ??= lineStarts(text))));
  return dedupe(hits).map((h) => finding(h, src));
}

/**
 * An AWS access key ID with a secret key beside it (a credentials CSV, a script): a 40-character
 * high-entropy base64 word within three lines of the ID is reported as its secret key.
 */
function awsPairs(text: string, hits: Hit[], starts: () => number[]): Hit[] {
  const ids = hits.filter((h) => h.rule.id === 'secret.aws-access-key-id');
  if (ids.length === 0) return [];
  const keyRule = SEVERITY_OF.get('secret.aws-secret-access-key')!;
  const have = new Set(hits.filter((h) => h.rule === keyRule).map((h) => h.line));
  const out: Hit[] = [];
  const word = /(?<![A-Za-z0-9/+])(?<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/g;
  for (const m of text.matchAll(word)) {
    const secret = m.groups!.secret;
    if (!/[a-z]/.test(secret) || !/[A-Z]/.test(secret) || shannonEntropy(secret) < 4.2) continue;
    const line = lineOf(starts(), m.index);
    if (have.has(line) || !ids.some((id) => Math.abs(id.line - line) <= 3)) continue;
    have.add(line);
    out.push({ rule: keyRule, line, secret });
  }
  return out;
}

function dedupe(hits: Hit[]): Hit[] {
  const byLine = new Map<number, Hit[]>();
  for (const h of hits) {
    const l = byLine.get(h.line);
    if (l) l.push(h);
    else byLine.set(h.line, [h]);
  }
  const out: Hit[] = [];
  for (const line of [...byLine.keys()].sort((a, b) => a - b)) {
    const here = byLine.get(line)!;
    const dropped = new Set(here.flatMap((h) => h.rule.supersedes ?? []));
    const seen = new Set<string>();
    for (const h of here) {
      if (dropped.has(h.rule.id) || seen.has(h.rule.id)) continue;
      seen.add(h.rule.id);
      out.push(h);
    }
  }
  return out;
}

function finding(h: Hit, src: TextSource): Finding {
  return {
    kind: 'secret',
    rule: h.rule.id,
    severity: h.rule.severity,
    title: src.reportPath ? `${h.rule.description} in ${src.path}` : h.rule.description,
    ...(src.layer !== undefined ? { layer: src.layer } : {}),
    ...(src.reportPath ? { path: src.path } : {}),
    line: h.line,
    detail: redact(h.secret),
  };
}

/** Extensions of files that are never text worth searching (read whole or not, they are binary). */
const BINARY_EXT =
  /\.(?:so(?:\.[0-9.]+)?|a|o|png|jpe?g|gif|ico|webp|woff2?|ttf|otf|gz|tgz|xz|bz2|zst|zip|jar|whl|pyc|mo|class|wasm|node)$/i;

/** What the layer walker asks of the secret scanner: which files, how much, and the scan itself. */
export function secretScanner(maxBytes: number = DEFAULTS.limits.secretMaxFileBytes) {
  return {
    name: 'secrets',
    maxBytes,
    wants: (e: LayerEntry): boolean => e.type === 'file' && e.size > 0 && !BINARY_EXT.test(e.path),
    accept: (head: Buffer): boolean => !looksBinary(head),
    content: (e: LayerEntry, data: Buffer): Finding[] =>
      scanText(data.toString('latin1'), { path: e.path, layer: e.layer, reportPath: true }),
  };
}

/** A predicate keeping the findings no allow-list entry matches (non-secret findings are kept). */
export function secretAllowFilter(opts: SecretOptions = {}): (f: Finding) => boolean {
  const entries = [...(opts.defaultAllow === false ? [] : DEFAULT_SECRET_ALLOW), ...(opts.allow ?? [])].map(
    (a) => ({ rule: a.rule, path: a.path !== undefined ? globMatcher([a.path]) : undefined }),
  );
  return (f) =>
    f.kind !== 'secret' ||
    !entries.some(
      (a) =>
        (a.rule === undefined || a.rule === f.rule) &&
        (a.path === undefined || (f.path !== undefined && a.path(f.path))),
    );
}
