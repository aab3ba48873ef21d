/**
 * Python package versions per PEP 440 (packaging.specifications "Version specifiers"), ordered as
 * `packaging.version.Version` orders them: epoch, release (trailing zeros ignored), then
 * `X.devN` < `XaN` (alpha, a) < `XbN` (beta, b) < `XrcN` (rc, c, pre, preview) < `X` < `X.postN`
 * (post, rev, r, `-N`), a dev release before the same version without it, and a local version
 * (`+ubuntu.1`) after the same public version, its parts compared numerically when both are numbers
 * and numbers after strings. Spelling is normalised: case, `-`/`_`/`.` separators, implicit numbers.
 */

export interface Pep440 {
  epoch: bigint;
  release: bigint[];
  pre?: { label: 'a' | 'b' | 'rc'; n: bigint };
  post?: bigint;
  dev?: bigint;
  local?: (bigint | string)[];
}

// packaging's VERSION_PATTERN, verbatim in meaning.
const PATTERN = new RegExp(
  '^\\s*v?' +
    '(?:([0-9]+)!)?' + // epoch
    '([0-9]+(?:\\.[0-9]+)*)' + // release
    '(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?' + // pre
    '(?:-([0-9]+)|[-_.]?(post|rev|r)[-_.]?([0-9]+)?)?' + // post
    '(?:[-_.]?(dev)[-_.]?([0-9]+)?)?' + // dev
    '(?:\\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?' + // local
    '\\s*$',
  'i',
);

const PRE_LABEL: Record<string, 'a' | 'b' | 'rc'> = {
  a: 'a',
  alpha: 'a',
  b: 'b',
  beta: 'b',
  c: 'rc',
  rc: 'rc',
  pre: 'rc',
  preview: 'rc',
};

export function parse(v: string): Pep440 | undefined {
  const m = PATTERN.exec(v);
  if (!m) return undefined;
  const out: Pep440 = {
    epoch: m[1] ? BigInt(m[1]) : 0n,
    release: m[2].split('.').map((x) => BigInt(x)),
  };
  if (m[3]) out.pre = { label: PRE_LABEL[m[3].toLowerCase()], n: m[4] ? BigInt(m[4]) : 0n };
  if (m[5]) out.post = BigInt(m[5]);
  else if (m[6]) out.post = m[7] ? BigInt(m[7]) : 0n;
  if (m[8]) out.dev = m[9] ? BigInt(m[9]) : 0n;
  if (m[10])
    out.local = m[10]
      .toLowerCase()
      .split(/[-_.]/)
      .map((p) => (/^[0-9]+$/.test(p) ? BigInt(p) : p));
  return out;
}

export function valid(v: string): boolean {
  return parse(v) !== undefined;
}

/** The normalised form (`1.0-RC.1` → `1.0rc1`), as `str(Version(v))` prints it. */
export function normalize(v: string): string | undefined {
  const p = parse(v);
  if (!p) return undefined;
  let s = p.epoch ? `${p.epoch}!` : '';
  s += p.release.join('.');
  if (p.pre) s += `${p.pre.label}${p.pre.n}`;
  if (p.post !== undefined) s += `.post${p.post}`;
  if (p.dev !== undefined) s += `.dev${p.dev}`;
  if (p.local) s += `+${p.local.join('.')}`;
  return s;
}

const cmp = <T extends bigint | string | number>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);

function compareRelease(a: bigint[], b: bigint[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = cmp(a[i] ?? 0n, b[i] ?? 0n);
    if (c) return c;
  }
  return 0;
}

/** packaging's _cmpkey pre-release slot: a lone dev release first, no pre-release last. */
function preKey(p: Pep440): [number, string, bigint] {
  if (!p.pre && p.post === undefined && p.dev !== undefined) return [-1, '', 0n];
  if (!p.pre) return [1, '', 0n];
  return [0, p.pre.label, p.pre.n];
}

function compareLocal(a: Pep440['local'], b: Pep440['local']): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i >= a.length) return -1;
    if (i >= b.length) return 1;
    const x = a[i];
    const y = b[i];
    if (typeof x === 'bigint' && typeof y === 'bigint') {
      if (x !== y) return cmp(x, y);
    } else if (typeof x === 'string' && typeof y === 'string') {
      if (x !== y) return cmp(x, y);
    } else return typeof x === 'bigint' ? 1 : -1; // numbers after strings
  }
  return 0;
}

export function compareParsed(a: Pep440, b: Pep440): number {
  const pa = preKey(a);
  const pb = preKey(b);
  return (
    cmp(a.epoch, b.epoch) ||
    compareRelease(a.release, b.release) ||
    cmp(pa[0], pb[0]) ||
    cmp(pa[1], pb[1]) ||
    cmp(pa[2], pb[2]) ||
    // No post release before any post release; no dev release after any dev release.
    (a.post === undefined
      ? b.post === undefined
        ? 0
        : -1
      : b.post === undefined
        ? 1
        : cmp(a.post, b.post)) ||
    (a.dev === undefined ? (b.dev === undefined ? 0 : 1) : b.dev === undefined ? -1 : cmp(a.dev, b.dev)) ||
    compareLocal(a.local, b.local)
  );
}

/** -1, 0 or 1; an invalid version sorts before every valid one, invalid ones by string. */
export function compare(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (pa && pb) return compareParsed(pa, pb);
  if (pa) return 1;
  if (pb) return -1;
  return cmp(a, b);
}
