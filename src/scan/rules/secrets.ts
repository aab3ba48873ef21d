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
  return head.subarray(0, 8000).indexOf(0) >= 0;
}

interface CompiledRule {
  rule: SecretRule;
  paths?: (path: string) => boolean;
  /** An anchored rule's pattern, sticky: tried at each place one of its keywords starts. */
  sticky?: RegExp;
}

const COMPILED: readonly CompiledRule[] = SECRET_RULES.map((rule) => ({
  rule,
  ...(rule.paths ? { paths: globMatcher(rule.paths) } : {}),
  ...(rule.anchored
    ? { sticky: new RegExp(rule.pattern.source, rule.pattern.flags.replace('g', '') + 'y') }
    : {}),
}));

/**
 * Which rules have a keyword in a text: an Aho-Corasick automaton of every rule's keywords (ASCII,
 * letters folded), run once over the bytes, whose states carry a bit per rule. It says whether
 * each keyword occurs anywhere, ignoring case, which is what SecretRule.keywords promises (a
 * combined regex's matches do not overlap, so it could miss a keyword inside another's match), in
 * a few table lookups a byte, without the file being decoded to a string first. Bytes that are in
 * no keyword share one class (they lead back to the start), so the transition table is small
 * enough to stay in the CPU's first-level cache; states are kept multiplied by the class count.
 */
interface Automaton {
  /** A byte's class (0: in no keyword). */
  classOf: Uint8Array;
  /** Next state of (state | class); states are multiples of 1 << shift. */
  next: Uint16Array;
  /** The rules (bits) whose keywords end at a state. */
  out: Int32Array;
  /** The lengths of the anchored rules' keywords that end at a state (by state >> shift). */
  anchorLengths: (readonly number[] | undefined)[];
  /** The anchored rules (bits). */
  anchored: number;
  shift: number;
}

function keywordAutomaton(rules: readonly SecretRule[]): Automaton {
  if (rules.length > 31) throw new Error('secret rules: more than 31 rules need a wider automaton');
  const classOf = new Uint8Array(256);
  let classes = 1;
  const words: [Buffer, number][] = [];
  let anchored = 0;
  rules.forEach((r, i) => {
    if (r.anchored) anchored |= 1 << i;
    for (const k of r.keywords) {
      if (!/^[\x20-\x7e]+$/.test(k))
        throw new Error(`secret rule ${r.id}: keyword ${k} is not printable ASCII`);
      const w = Buffer.from(k.toLowerCase(), 'latin1');
      for (const c of w) if (classOf[c] === 0) classOf[c] = classes++;
      words.push([w, 1 << i]);
    }
  });
  // Upper-case ASCII letters go where their lower-case letters go (the keywords are lower-cased).
  for (let c = 0x41; c <= 0x5a; c++) classOf[c] = classOf[c + 0x20];
  const shift = Math.max(1, Math.ceil(Math.log2(classes)));
  // The trie, then its failure links breadth first (a state's longest proper suffix that is a state).
  const children: Int32Array[] = [new Int32Array(classes).fill(-1)];
  const own: number[] = [0];
  const ownLengths: number[][] = [[]];
  for (const [w, bit] of words) {
    let s = 0;
    for (const c of w) {
      let t = children[s][classOf[c]];
      if (t < 0) {
        t = children.length;
        children.push(new Int32Array(classes).fill(-1));
        own.push(0);
        ownLengths.push([]);
        children[s][classOf[c]] = t;
      }
      s = t;
    }
    own[s] |= bit;
    if (bit & anchored && !ownLengths[s].includes(w.length)) ownLengths[s].push(w.length);
  }
  if (children.length << shift > 0xffff) throw new Error('secret rules: too many keyword characters');
  const next = new Uint16Array(children.length << shift);
  const out = new Int32Array(children.length << shift);
  const fail = new Int32Array(children.length);
  const anchorLengths: (number[] | undefined)[] = [];
  const queue = [0];
  for (let q = 0; q < queue.length; q++) {
    const s = queue[q];
    out[s << shift] = own[s] | (s === 0 ? 0 : out[fail[s] << shift]);
    const lengths = [...ownLengths[s], ...(s === 0 ? [] : (anchorLengths[fail[s]] ?? []))];
    if (lengths.length > 0) anchorLengths[s] = lengths;
    for (let c = 0; c < classes; c++) {
      const t = children[s][c];
      const viaFail = s === 0 ? 0 : next[(fail[s] << shift) | c] >> shift;
      if (t < 0) {
        next[(s << shift) | c] = viaFail << shift;
      } else {
        fail[t] = viaFail;
        next[(s << shift) | c] = t << shift;
        queue.push(t);
      }
    }
  }
  return { classOf, next, out, anchorLengths, anchored, shift };
}

// Module constants, not an object's fields: V8 compiles the loops below best over these.
const {
  classOf: CLASS_OF,
  next: NEXT,
  out: OUT,
  anchorLengths: ANCHOR_LENGTHS,
  anchored: ANCHORED,
  shift: SHIFT,
} = keywordAutomaton(SECRET_RULES);

/** Where the anchored rules' keywords start in the text last looked at (the first `startCount`). */
let STARTS = new Int32Array(1024);
let startCount = 0;

function keywordEnds(state: number, end: number): void {
  for (const length of ANCHOR_LENGTHS[state >> SHIFT] ?? []) {
    if (startCount === STARTS.length) {
      const more = new Int32Array(STARTS.length * 2);
      more.set(STARTS);
      STARTS = more;
    }
    STARTS[startCount++] = end + 1 - length;
  }
}

/** The automaton from `state` over data[from, to): the rules (bits) whose keywords end there. */
function keywordChain(data: Uint8Array, state: number, from: number, to: number): number {
  let s = state;
  let found = 0;
  for (let i = from; i < to; i++) {
    s = NEXT[s | CLASS_OF[data[i]]];
    const out = OUT[s];
    if (out !== 0) {
      found |= out;
      if (out & ANCHORED) keywordEnds(s, i);
    }
  }
  return found;
}

/** Texts this long are read as four chains side by side. */
const CHAINS_FROM = 4096;
/** How far a chain starts before its quarter: a keyword ending in it may start that much earlier. */
const OVERLAP = Math.max(3, ...SECRET_RULES.flatMap((r) => r.keywords.map((k) => k.length - 1)));

/**
 * The rules (bits) with a keyword in `data`; where anchored rules' keywords start, in STARTS.
 * Each step of the automaton waits for the one before (a table lookup), so a long text is read as
 * four independent chains, one a quarter, stepped together: each starts OVERLAP bytes before its
 * quarter (a keyword across a boundary is found whole; one in the overlap twice, which is harmless).
 */
function keywordRules(data: Uint8Array): number {
  startCount = 0;
  const n = data.length;
  if (n < CHAINS_FROM) return keywordChain(data, 0, 0, n);
  const q = Math.ceil(n / 4);
  const b1 = q - OVERLAP;
  const b2 = 2 * q - OVERLAP;
  const b3 = 3 * q - OVERLAP;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let found = 0;
  for (let i = 0; i < q; i++) {
    s0 = NEXT[s0 | CLASS_OF[data[i]]];
    s1 = NEXT[s1 | CLASS_OF[data[b1 + i]]];
    s2 = NEXT[s2 | CLASS_OF[data[b2 + i]]];
    s3 = NEXT[s3 | CLASS_OF[data[b3 + i]]];
    const out = OUT[s0] | OUT[s1] | OUT[s2] | OUT[s3];
    if (out !== 0) {
      found |= out;
      if (out & ANCHORED) {
        if (OUT[s0] & ANCHORED) keywordEnds(s0, i);
        if (OUT[s1] & ANCHORED) keywordEnds(s1, b1 + i);
        if (OUT[s2] & ANCHORED) keywordEnds(s2, b2 + i);
        if (OUT[s3] & ANCHORED) keywordEnds(s3, b3 + i);
      }
    }
  }
  // Chains 1 and 2 end at the next quarter, chain 3 at the end (4q - OVERLAP <= n: OVERLAP >= 3).
  return (
    found |
    keywordChain(data, s1, b1 + q, 2 * q) |
    keywordChain(data, s2, b2 + q, 3 * q) |
    keywordChain(data, s3, b3 + q, n)
  );
}

/** The same for a string (a character above U+00FF is in no keyword). */
function keywordRulesOfText(text: string): number {
  let s = 0;
  let found = 0;
  startCount = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    s = NEXT[s | (c > 0xff ? 0 : CLASS_OF[c])];
    const out = OUT[s];
    if (out !== 0) {
      found |= out;
      if (out & ANCHORED) keywordEnds(s, i);
    }
  }
  return found;
}

/** The places STARTS holds, ascending (a copy: the next text overwrites STARTS). */
function keywordStarts(): Int32Array {
  return STARTS.slice(0, startCount).sort();
}

/**
 * What `text.matchAll(global pattern)` yields, for a pattern whose matches all start at one of
 * `starts` (ascending): the leftmost match from where the last one ended, tried only there.
 */
function* matchesAt(sticky: RegExp, text: string, starts: Int32Array): Generator<RegExpExecArray> {
  let from = 0;
  let tried = -1;
  for (const at of starts) {
    if (at < from || at === tried) continue;
    tried = at;
    sticky.lastIndex = at;
    const m = sticky.exec(text);
    if (m) {
      yield m;
      from = at + Math.max(1, m[0].length);
    }
  }
}

/** The rules of `mask` that apply to `path` (their `paths` globs). */
function applicable(mask: number, path: string): number {
  for (let i = 0; i < COMPILED.length; i++) {
    const paths = COMPILED[i].paths;
    if (mask & (1 << i) && paths && !paths(path)) mask &= ~(1 << i);
  }
  return mask;
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
  const rules = applicable(keywordRulesOfText(text), src.path);
  return rules === 0 ? [] : scanRules(text, rules, keywordStarts(), src);
}

/**
 * Secrets in a file's bytes: the same as scanText of their latin1 text, but the keywords are
 * looked for in the bytes, and a file that has none of an applicable rule's is never decoded.
 */
export function scanBytes(data: Uint8Array, src: TextSource): Finding[] {
  const rules = applicable(keywordRules(data), src.path);
  if (rules === 0) return [];
  const starts = keywordStarts();
  return scanRules(
    Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1'),
    rules,
    starts,
    src,
  );
}

/** The rules of `mask` run over `text` (anchored ones at `keywordAt`, where their keywords start). */
function scanRules(text: string, mask: number, keywordAt: Int32Array, src: TextSource): Finding[] {
  let starts: number[] | undefined;
  const hits: Hit[] = [];
  for (let i = 0; i < COMPILED.length; i++) {
    if (!(mask & (1 << i))) continue;
    const { rule, sticky } = COMPILED[i];
    if (rule.requires && !rule.requires.test(text)) continue;
    rule.pattern.lastIndex = 0;
    for (const m of sticky ? matchesAt(sticky, text, keywordAt) : text.matchAll(rule.pattern)) {
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
      scanBytes(data, { path: e.path, layer: e.layer, reportPath: true }),
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
