/** object.*, json.filter/remove/patch, walk. */
import { BuiltinError, operandError } from '../errors.js';
import { RObject, RSet, equal, typeName, type Value } from '../value.js';
import { register, registerRelation } from './registry.js';
import { arr, fail, obj } from './util.js';

register('object.get', ([o, key, dflt]) => {
  if (!(o instanceof RObject)) throw operandError('object.get', 1, 'object', typeName(o));
  if (Array.isArray(key)) {
    let cur: Value | undefined = o;
    for (const k of key) {
      if (cur instanceof RObject) cur = cur.get(k);
      else if (Array.isArray(cur) && typeof k === 'number' && Number.isInteger(k)) cur = cur[k];
      else if (cur instanceof RSet) cur = cur.has(k) ? k : undefined;
      else cur = undefined;
      if (cur === undefined) return dflt;
    }
    return cur;
  }
  const v = o.get(key);
  return v === undefined ? dflt : v;
});
register('object.keys', (a) => RSet.from(obj('object.keys', a, 0).keys()));

export function mergeObjects(a: RObject, b: RObject): RObject {
  const out = a.clone();
  for (const [k, v] of b.sortedEntries()) {
    const prev = out.get(k);
    out.set(k, prev instanceof RObject && v instanceof RObject ? mergeObjects(prev, v) : v);
  }
  return out;
}
register('object.union', (a) => mergeObjects(obj('object.union', a, 0), obj('object.union', a, 1)));
register('object.union_n', (a) => {
  const xs = arr('object.union_n', a, 0);
  let out = new RObject();
  for (const x of xs) {
    if (!(x instanceof RObject)) throw operandError('object.union_n', 1, 'array of objects', typeName(x));
    out = mergeObjects(out, x);
  }
  return out;
});

function keyList(fn: string, v: Value, pos: number): Value[] {
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v.sorted();
  if (v instanceof RObject) return v.keys();
  throw operandError(fn, pos, 'one of {object, set, array}', typeName(v));
}
register('object.remove', (a) => {
  const o = obj('object.remove', a, 0);
  const out = o.clone();
  for (const k of keyList('object.remove', a[1], 2)) out.delete(k);
  return out;
});
register('object.filter', (a) => {
  const o = obj('object.filter', a, 0);
  const out = new RObject();
  for (const k of keyList('object.filter', a[1], 2)) {
    const v = o.get(k);
    if (v !== undefined) out.set(k, v);
  }
  return out;
});

function isSubset(sup: Value, sub: Value): boolean {
  if (sup instanceof RObject && sub instanceof RObject) {
    for (const [k, v] of sub.sortedEntries()) {
      const x = sup.get(k);
      if (x === undefined) return false;
      if (x instanceof RObject && v instanceof RObject) {
        if (!isSubset(x, v)) return false;
      } else if (x instanceof RSet && v instanceof RSet) {
        if (!isSubset(x, v)) return false;
      } else if (Array.isArray(x) && Array.isArray(v)) {
        if (!isSubset(x, v)) return false;
      } else if (!equal(x, v)) return false;
    }
    return true;
  }
  if (sup instanceof RSet && sub instanceof RSet) return sub.sorted().every((v) => sup.has(v));
  if (Array.isArray(sup) && sub instanceof RSet)
    return sub.sorted().every((v) => sup.some((x) => equal(x, v)));
  if (Array.isArray(sup) && Array.isArray(sub)) {
    if (sub.length === 0) return true;
    for (let i = 0; i + sub.length <= sup.length; i++)
      if (sub.every((v, j) => equal(sup[i + j], v))) return true;
    return false;
  }
  return equal(sup, sub);
}
register('object.subset', ([sup, sub]) => {
  const ok = (v: Value): boolean => v instanceof RObject || v instanceof RSet || Array.isArray(v);
  if (!ok(sup)) throw operandError('object.subset', 1, 'one of {object, set, array}', typeName(sup));
  if (!ok(sub)) throw operandError('object.subset', 2, 'one of {object, set, array}', typeName(sub));
  if (sup instanceof RObject !== sub instanceof RObject)
    throw operandError('object.subset', 2, typeName(sup), typeName(sub));
  if (sup instanceof RSet && !(sub instanceof RSet))
    throw operandError('object.subset', 2, 'set', typeName(sub));
  return isSubset(sup, sub);
});

// ---------------------------------------------------------------- json.filter / json.remove

function parsePaths(fn: string, v: Value): Value[][] {
  const items = Array.isArray(v) ? v : v instanceof RSet ? v.sorted() : undefined;
  if (!items) throw operandError(fn, 2, 'one of {set, array}', typeName(v));
  return items.map((p) => {
    if (typeof p === 'string') {
      return p
        .replace(/^\//, '')
        .split('/')
        .filter((x, i, all) => x !== '' || all.length > 1)
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    }
    if (Array.isArray(p)) return p;
    throw new BuiltinError(
      `${fn}: operand 2 must be one of {set, array} containing string paths or array of path segments but got ${typeName(p)}`,
      'type',
    );
  });
}

interface PathTree {
  leaf: boolean;
  children: Map<string, [Value, PathTree]>;
}
function buildTree(paths: Value[][]): PathTree {
  const root: PathTree = { leaf: false, children: new Map() };
  for (const p of paths) {
    let n = root;
    for (const seg of p) {
      const k = JSON.stringify(seg);
      let c = n.children.get(k);
      if (!c) n.children.set(k, (c = [seg, { leaf: false, children: new Map() }]));
      n = c[1];
    }
    n.leaf = true;
  }
  return root;
}
function segMatch(seg: Value, key: Value): boolean {
  if (equal(seg, key)) return true;
  if (typeof seg === 'string' && typeof key === 'number') return seg === String(key);
  return false;
}

function filter(v: Value, t: PathTree): Value | undefined {
  if (t.leaf) return v;
  if (v instanceof RObject) {
    const out = new RObject();
    for (const [, [seg, child]] of t.children) {
      for (const [k, x] of v.sortedEntries()) {
        if (!segMatch(seg, k)) continue;
        const f = filter(x, child);
        if (f !== undefined) {
          const prev = out.get(k);
          out.set(k, prev instanceof RObject && f instanceof RObject ? mergeObjects(prev, f) : f);
        }
      }
    }
    return out;
  }
  if (Array.isArray(v)) {
    const keep: [number, Value][] = [];
    v.forEach((x, i) => {
      for (const [, [seg, child]] of t.children) {
        if (!segMatch(seg, i)) continue;
        const f = filter(x, child);
        if (f !== undefined) keep.push([i, f]);
      }
    });
    return keep.sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  }
  if (v instanceof RSet) {
    const out = new RSet();
    for (const x of v.sorted()) {
      for (const [, [seg, child]] of t.children) {
        if (!segMatch(seg, x)) continue;
        const f = filter(x, child);
        if (f !== undefined) out.add(f);
      }
    }
    return out;
  }
  return undefined;
}
register('json.filter', (a) => {
  const o = obj('json.filter', a, 0);
  return filter(o, buildTree(parsePaths('json.filter', a[1])));
});

function remove(v: Value, t: PathTree): Value | undefined {
  if (t.leaf) return undefined;
  if (v instanceof RObject) {
    const out = new RObject();
    for (const [k, x] of v.sortedEntries()) {
      let child: PathTree | undefined;
      for (const [, [seg, c]] of t.children) if (segMatch(seg, k)) child = c;
      if (!child) out.set(k, x);
      else {
        const r = remove(x, child);
        if (r !== undefined) out.set(k, r);
      }
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      let child: PathTree | undefined;
      for (const [, [seg, c]] of t.children) if (segMatch(seg, i)) child = c;
      if (!child) out.push(x);
      else {
        const r = remove(x, child);
        if (r !== undefined) out.push(r);
      }
    });
    return out;
  }
  if (v instanceof RSet) {
    const out = new RSet();
    for (const x of v.sorted()) {
      let child: PathTree | undefined;
      for (const [, [seg, c]] of t.children) if (segMatch(seg, x)) child = c;
      if (!child) out.add(x);
      else {
        const r = remove(x, child);
        if (r !== undefined) out.add(r);
      }
    }
    return out;
  }
  return v;
}
register('json.remove', (a) => {
  const o = obj('json.remove', a, 0);
  return remove(o, buildTree(parsePaths('json.remove', a[1])));
});

// ---------------------------------------------------------------- json.patch (RFC 6902)

function ptr(p: Value): Value[] | undefined {
  if (Array.isArray(p)) return p;
  if (typeof p !== 'string') return undefined;
  if (p === '') return [];
  // like OPA: leading slashes are optional
  return p
    .replace(/^\/+/, '')
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: Value, path: Value[]): Value | undefined {
  let cur: Value | undefined = doc;
  for (const seg of path) {
    if (cur instanceof RObject) cur = cur.get(seg);
    else if (Array.isArray(cur)) {
      const i = typeof seg === 'number' ? seg : /^(0|[1-9]\d*)$/.test(String(seg)) ? Number(seg) : -1;
      cur = i >= 0 && i < cur.length ? cur[i] : undefined;
    } else if (cur instanceof RSet) cur = cur.has(seg) ? seg : undefined;
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Returns the new document, or undefined if the op cannot apply. */
function applyAt(
  doc: Value,
  path: Value[],
  op: 'add' | 'remove' | 'replace',
  value?: Value,
): Value | undefined {
  if (path.length === 0) return op === 'remove' ? undefined : value;
  const [seg, ...rest] = path;
  if (doc instanceof RObject) {
    const cur = doc.get(seg);
    if (rest.length === 0) {
      const out = doc.clone();
      if (op === 'remove') {
        if (cur === undefined) return undefined;
        out.delete(seg);
      } else {
        if (op === 'replace' && cur === undefined) return undefined;
        out.set(seg, value!);
      }
      return out;
    }
    if (cur === undefined) return undefined;
    const nv = applyAt(cur, rest, op, value);
    if (nv === undefined) return undefined;
    const out = doc.clone();
    out.set(seg, nv);
    return out;
  }
  if (Array.isArray(doc)) {
    let i: number;
    if (seg === '-' && rest.length === 0 && op === 'add') i = doc.length;
    else if (typeof seg === 'number') i = seg;
    else if (typeof seg === 'string' && /^(0|[1-9]\d*)$/.test(seg)) i = Number(seg);
    else return undefined;
    if (rest.length === 0) {
      const out = [...doc];
      if (op === 'add') {
        if (i > doc.length) return undefined;
        out.splice(i, 0, value!);
      } else {
        if (i >= doc.length) return undefined;
        if (op === 'remove') out.splice(i, 1);
        else out[i] = value!;
      }
      return out;
    }
    if (i >= doc.length) return undefined;
    const nv = applyAt(doc[i], rest, op, value);
    if (nv === undefined) return undefined;
    const out = [...doc];
    out[i] = nv;
    return out;
  }
  if (doc instanceof RSet) {
    if (rest.length === 0) {
      const out = RSet.from(doc.sorted());
      if (op === 'add') {
        // a set member is its own key: the value must be the last path segment
        if (!equal(value!, seg)) return undefined;
        out.add(value!);
        return out;
      }
      if (!doc.has(seg)) return undefined;
      const r = RSet.from(doc.sorted().filter((x) => !equal(x, seg)));
      if (op === 'replace') r.add(value!);
      return r;
    }
    if (!doc.has(seg)) return undefined;
    const nv = applyAt(seg, rest, op, value);
    if (nv === undefined) return undefined;
    const r = RSet.from(doc.sorted().filter((x) => !equal(x, seg)));
    r.add(nv);
    return r;
  }
  return undefined;
}

register('json.patch', (a) => {
  let doc = a[0];
  const ops = arr('json.patch', a, 1);
  for (const o of ops) {
    if (!(o instanceof RObject)) throw operandError('json.patch', 2, 'array of objects', typeName(o));
    const op = o.get('op');
    const path = ptr(o.get('path') ?? null);
    if (typeof op !== 'string' || !path) return undefined;
    let next: Value | undefined;
    switch (op) {
      case 'add':
      case 'replace': {
        const v = o.get('value');
        if (v === undefined) return undefined;
        next = applyAt(doc, path, op, v);
        break;
      }
      case 'remove':
        next = path.length === 0 ? undefined : applyAt(doc, path, 'remove');
        break;
      case 'move':
      case 'copy': {
        const from = ptr(o.get('from') ?? null);
        if (!from) return undefined;
        const v = getAt(doc, from);
        if (v === undefined) return undefined;
        const base = op === 'move' ? applyAt(doc, from, 'remove') : doc;
        next = base === undefined ? undefined : applyAt(base, path, 'add', v);
        break;
      }
      case 'test': {
        const v = getAt(doc, path);
        const want = o.get('value');
        next = v !== undefined && want !== undefined && equal(v, want) ? doc : undefined;
        break;
      }
      default:
        fail('json.patch', `unknown op ${op}`);
    }
    if (next === undefined) return undefined;
    doc = next;
  }
  return doc;
});

// ---------------------------------------------------------------- walk

registerRelation('walk', ([root]) => {
  const out: Value[] = [];
  const visit = (path: Value[], v: Value): void => {
    out.push([path, v]);
    if (Array.isArray(v)) v.forEach((x, i) => visit([...path, i], x));
    else if (v instanceof RObject) for (const [k, x] of v.sortedEntries()) visit([...path, k], x);
    else if (v instanceof RSet) for (const x of v.sorted()) visit([...path, x], x);
  };
  visit([], root);
  return out;
});
