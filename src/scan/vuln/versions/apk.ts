/**
 * Alpine apk versions, ordered as apk-tools 2.14 orders them (src/version.c of the 2.14-stable branch): the Gentoo-like form
 * `{digit}{.digit}...{letter}{_suffix{#}}...{-r#}`. The string is read as a sequence of typed tokens;
 * equal leading tokens are skipped, then the first differing value decides, else the kinds of the
 * next tokens do (a pre-release suffix `_alpha` `_beta` `_pre` `_rc` sorts before the end of the
 * version; anything else that continues a version — `.1`, a letter, `_p1`, `-r1` — sorts after it).
 */

const enum T {
  Invalid = -1,
  DigitOrZero = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNo = 4,
  RevisionNo = 5,
  End = 6,
}

const PRE = ['alpha', 'beta', 'pre', 'rc'];
const POST = ['cvs', 'svn', 'git', 'hg', 'p'];

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isLower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z';

/** A cursor over one version string: apk's get_token()/next_token() pair. */
class Tokens {
  type: T = T.Digit;
  private i = 0;
  constructor(private readonly s: string) {}

  private get rest(): number {
    return this.s.length - this.i;
  }

  /** next_token(): the kind of the token starting at the cursor, consuming its separator. */
  private next(): void {
    let n: T = T.Invalid;
    const c = this.s[this.i];
    if (this.rest === 0 || c === '\0') n = T.End;
    else if ((this.type === T.Digit || this.type === T.DigitOrZero) && isLower(c)) n = T.Letter;
    else if (this.type === T.Letter && isDigit(c)) n = T.Digit;
    else if (this.type === T.Suffix && isDigit(c)) n = T.SuffixNo;
    else {
      if (c === '.') n = T.DigitOrZero;
      else if (c === '_') n = T.Suffix;
      else if (c === '-') {
        if (this.rest > 1 && this.s[this.i + 1] === 'r') {
          n = T.RevisionNo;
          this.i++;
        } else n = T.Invalid;
      }
      this.i++;
    }
    // Tokens only move forward (digits, letter, suffixes, revision), with these exceptions.
    if (n < this.type) {
      const ok =
        (n === T.DigitOrZero && this.type === T.Digit) ||
        (n === T.Suffix && this.type === T.SuffixNo) ||
        (n === T.Digit && this.type === T.Letter);
      if (!ok) n = T.Invalid;
    }
    this.type = n;
  }

  /** get_token(): the value of the token at the cursor; moves to the next one. */
  take(): bigint {
    if (this.rest <= 0) {
      this.type = T.End;
      return 0n;
    }
    if (this.type === T.Invalid) return -1n;
    let v = 0n;
    let len = 0;
    let nt: T = T.Invalid;
    const s = this.s;
    const at = this.i;
    // Leading zeros after a dot (all but the last digit, apk-tools 2.14's fix of #10880): a token
    // worth minus their count, then the rest as a number: `1.001` < `1.01` < `1.1`, `1.0` = `1.0`.
    const zeros = this.type === T.DigitOrZero && s[at] === '0';
    switch (zeros ? T.Invalid : this.type) {
      case T.Invalid:
        while (len + 1 < this.rest && s[at + len + 1] === '0') len++;
        nt = T.Digit;
        v = BigInt(-len);
        break;
      case T.DigitOrZero:
      case T.Digit:
      case T.SuffixNo:
      case T.RevisionNo:
        while (len < this.rest && isDigit(s[at + len])) v = v * 10n + BigInt(s.charCodeAt(at + len++) - 48);
        if (len >= 18) {
          // apk keeps numbers in 64 bits and refuses longer ones.
          this.type = T.Invalid;
          return -1n;
        }
        break;
      case T.Letter:
        v = BigInt(s.charCodeAt(at));
        len = 1;
        break;
      case T.Suffix: {
        const pre = PRE.findIndex((p) => s.startsWith(p, at));
        if (pre >= 0) {
          v = BigInt(pre - PRE.length); // negative: before the release
          len = PRE[pre].length;
          break;
        }
        const post = POST.findIndex((p) => s.startsWith(p, at));
        if (post >= 0) {
          v = BigInt(post);
          len = POST[post].length;
          break;
        }
        this.type = T.Invalid;
        return -1n;
      }
      default:
        this.type = T.Invalid;
        return -1n;
    }
    this.i += len;
    if (this.rest === 0) this.type = T.End;
    else if (nt !== T.Invalid) this.type = nt;
    else this.next();
    return v;
  }
}

/** apk_version_validate(). */
export function valid(v: string): boolean {
  if (v === '') return false;
  const t = new Tokens(v);
  while (t.type !== T.End && t.type !== T.Invalid) t.take();
  return t.type === T.End;
}

/** apk_version_compare(): -1, 0 or 1. */
export function compare(a: string, b: string): number {
  const ta = new Tokens(a);
  const tb = new Tokens(b);
  let av = 0n;
  let bv = 0n;
  while (ta.type === tb.type && ta.type !== T.End && ta.type !== T.Invalid && av === bv) {
    av = ta.take();
    bv = tb.take();
  }
  if (av < bv) return -1;
  if (av > bv) return 1;
  if (ta.type === tb.type) return 0;
  // Equal so far: the version that goes on is greater, unless what follows is a pre-release suffix.
  if (ta.type === T.Suffix && peekSuffix(ta) < 0n) return -1;
  if (tb.type === T.Suffix && peekSuffix(tb) < 0n) return 1;
  if (ta.type > tb.type) return -1;
  if (tb.type > ta.type) return 1;
  return 0;
}

/** The value of the suffix at the cursor, without moving the caller's cursor (apk's `tt` copy). */
function peekSuffix(t: Tokens): bigint {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(t) as object) as Tokens, t);
  return copy.take();
}
