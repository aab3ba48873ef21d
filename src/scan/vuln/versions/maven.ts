/**
 * Maven versions, ordered as Maven's `ComparableVersion` orders them (3.8's items, with 3.9's trailing-qualifier rule) — the "Version Order
 * Specification" of the POM reference. The version is lower-cased and split into items on `.` and
 * `-` and at every switch between digits and letters; `-` (and a switch) opens a nested list. Each
 * list drops its trailing "null" items (0, "", "ga", "final", "release"). Qualifiers order as
 * alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp, then any other
 * qualifier alphabetically; `a1`, `b1`, `m1` are alpha-1, beta-1, milestone-1. Between kinds:
 * a number > a list > a qualifier (so `1.1` > `1-1` > `1-sp` and `1.foo` < `1-1`).
 */

type Item = { k: 'int'; v: bigint } | { k: 'str'; v: string } | { k: 'list'; v: Item[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''));

function strItem(value: string, followedByDigit: boolean): Item {
  let v = value;
  if (followedByDigit && v.length === 1)
    v = v === 'a' ? 'alpha' : v === 'b' ? 'beta' : v === 'm' ? 'milestone' : v;
  return { k: 'str', v: ALIASES[v] ?? v };
}

/** Known qualifiers by their rank; unknown ones after all of them (`7-foo`), alphabetically. */
function comparable(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i >= 0 ? String(i) : `${QUALIFIERS.length}-${q}`;
}

function isNull(it: Item): boolean {
  if (it.k === 'int') return it.v === 0n;
  if (it.k === 'str') return comparable(it.v) === RELEASE_INDEX;
  return it.v.length === 0;
}

function item(isDigit: boolean, s: string): Item {
  return isDigit ? { k: 'int', v: BigInt(s) } : strItem(s, false);
}

/** ListItem.normalize(): drop trailing null items, stopping at the first non-null non-list. */
function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const it = list[i];
    if (isNull(it)) list.splice(i, 1);
    else if (it.k !== 'list') break;
  }
}

export function parse(version: string): Item[] {
  const s = version.toLowerCase();
  const root: Item[] = [];
  let list = root;
  const stack: Item[][] = [root];
  const nest = () => {
    const next: Item[] = [];
    list.push({ k: 'list', v: next });
    list = next;
    stack.push(next);
  };
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '.') {
      list.push(i === start ? { k: 'int', v: 0n } : item(isDigit, s.slice(start, i)));
      start = i + 1;
    } else if (c === '-') {
      list.push(i === start ? { k: 'int', v: 0n } : item(isDigit, s.slice(start, i)));
      start = i + 1;
      nest();
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        list.push(strItem(s.slice(start, i), true));
        start = i;
        nest();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.push(item(true, s.slice(start, i)));
        start = i;
        nest();
      }
      isDigit = false;
    }
  }
  if (s.length > start) {
    // A trailing qualifier after `.` is one after `-`: `1.0.foo` = `1.0-foo` (Maven 3.9, MNG-7559).
    if (!isDigit && list.length > 0) nest();
    list.push(item(isDigit, s.slice(start)));
  }
  while (stack.length) normalize(stack.pop() as Item[]);
  return root;
}

const cmp = <T extends bigint | string>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);

/** Item.compareTo(other), `undefined` standing for Java's null (a missing item). */
function compareItem(a: Item, b: Item | undefined): number {
  switch (a.k) {
    case 'int':
      if (!b) return a.v === 0n ? 0 : 1;
      return b.k === 'int' ? cmp(a.v, b.v) : 1;
    case 'str':
      if (!b) return cmp(comparable(a.v), RELEASE_INDEX);
      return b.k === 'str' ? cmp(comparable(a.v), comparable(b.v)) : -1;
    case 'list':
      if (!b) {
        // The whole list against nothing, not only its first item (MNG-6964).
        for (const it of a.v) {
          const c = compareItem(it, undefined);
          if (c) return c;
        }
        return 0;
      }
      if (b.k === 'int') return -1;
      if (b.k === 'str') return 1;
      return compareLists(a.v, b.v);
  }
}

function compareLists(a: Item[], b: Item[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const l = a[i];
    const r = b[i];
    const c = l === undefined ? (r === undefined ? 0 : -compareItem(r, undefined)) : compareItem(l, r);
    if (c) return c;
  }
  return 0;
}

/** ComparableVersion accepts any string; an empty or blank one is not a version. */
export function valid(v: string): boolean {
  return v.trim() !== '' && !/\s/.test(v.trim());
}

/** -1, 0 or 1. */
export function compare(a: string, b: string): number {
  return Math.sign(compareLists(parse(a.trim()), parse(b.trim())));
}
