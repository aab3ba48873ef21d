/**
 * OpenVEX documents (https://github.com/openvex/spec): statements that a product is or is not
 * affected by a vulnerability. A `not_affected` or `fixed` statement about a finding's
 * vulnerability (its id or any alias) and its product — the package's purl, or the image (by
 * digest) as a whole or through a subcomponent naming the package — suppresses the finding; the
 * finding stays in the report, marked with the statement. When several statements apply, the
 * latest (timestamp, then order given) decides, as the specification's history of statements does.
 * Both the v0.2 shapes (objects with `@id`) and v0.0.1's strings are read.
 */
import { readFile } from 'node:fs/promises';
import { VulnError } from './errors.js';

export const VEX_STATUSES = ['not_affected', 'affected', 'fixed', 'under_investigation'] as const;
export type VexStatus = (typeof VEX_STATUSES)[number];

export interface VexProduct {
  /** A purl, an image digest (`sha256:...`), or an image reference pinned by digest. */
  ids: string[];
  subcomponents: string[];
}

export interface VexStatement {
  vulnerability: string[];
  products: VexProduct[];
  status: VexStatus;
  justification?: string;
  impact?: string;
  timestamp?: string;
  /** The document's `@id`, or the file it came from. */
  document: string;
  /** Position among all statements given, for ties. */
  order: number;
}

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown) => (typeof x === 'string' && x !== '' ? x : undefined);

function invalid(where: string, why: string): never {
  throw new VulnError('VULN_VEX_INVALID', `${where}: ${why}`);
}

function component(x: unknown): string[] {
  if (typeof x === 'string') return [x];
  if (!isObj(x)) return [];
  const ids = [str(x['@id'])];
  if (isObj(x.identifiers)) ids.push(str(x.identifiers.purl));
  return ids.filter((s): s is string => s !== undefined);
}

/** The statements of one OpenVEX document. */
export function parseVex(json: unknown, source = 'VEX document', first = 0): VexStatement[] {
  if (!isObj(json) || !Array.isArray(json.statements))
    invalid(source, 'no statements (not an OpenVEX document)');
  const document = str(json['@id']) ?? source;
  const docTime = str(json.timestamp);
  return json.statements.map((s, i): VexStatement => {
    const where = `${source}: statement ${i + 1}`;
    if (!isObj(s)) invalid(where, 'not an object');
    const v = s.vulnerability;
    const vulnerability =
      typeof v === 'string'
        ? [v]
        : isObj(v)
          ? [str(v.name), ...(Array.isArray(v.aliases) ? v.aliases.map(str) : [])].filter(
              (x): x is string => x !== undefined,
            )
          : [];
    if (vulnerability.length === 0) invalid(where, 'no vulnerability name');
    const status = s.status;
    if (typeof status !== 'string' || !(VEX_STATUSES as readonly string[]).includes(status))
      invalid(where, `status ${String(status)}`);
    const justification = str(s.justification);
    const impact = str(s.impact_statement);
    // The specification requires a reason for not_affected; a suppression without one is refused.
    if (status === 'not_affected' && !justification && !impact)
      invalid(where, 'not_affected without a justification or impact_statement');
    const shared = Array.isArray(s.subcomponents) ? s.subcomponents.flatMap(component) : [];
    const products = (Array.isArray(s.products) ? s.products : []).map((p): VexProduct => ({
      ids: component(p),
      subcomponents: [
        ...shared,
        ...(isObj(p) && Array.isArray(p.subcomponents) ? p.subcomponents.flatMap(component) : []),
      ],
    }));
    if (products.length === 0 || products.some((p) => p.ids.length === 0)) invalid(where, 'no products');
    const timestamp = str(s.timestamp) ?? docTime;
    return {
      vulnerability,
      products,
      status: status as VexStatus,
      ...(justification ? { justification } : {}),
      ...(impact ? { impact } : {}),
      ...(timestamp ? { timestamp } : {}),
      document,
      order: first + i,
    };
  });
}

/** Read OpenVEX files; VULN_VEX_INVALID for one that cannot be read or is not OpenVEX. */
export async function loadVex(files: string[]): Promise<VexStatement[]> {
  const out: VexStatement[] = [];
  for (const f of files) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(f, 'utf8'));
    } catch (e) {
      invalid(f, (e as Error).message);
    }
    out.push(...parseVex(json, f, out.length));
  }
  return out;
}

interface Purl {
  type: string;
  namespace: string;
  name: string;
  version?: string;
  qualifiers: Map<string, string>;
}

function parsePurl(s: string): Purl | undefined {
  const m = /^pkg:([^/]+)\/([^@?#]+)(?:@([^?#]*))?(?:\?([^#]*))?/.exec(s.trim());
  if (!m) return undefined;
  const segs = m[2].split('/').filter(Boolean).map(decodeURIComponent);
  const name = segs.pop();
  if (!name) return undefined;
  const qualifiers = new Map<string, string>();
  for (const kv of (m[4] ?? '').split('&').filter(Boolean)) {
    const i = kv.indexOf('=');
    if (i > 0) qualifiers.set(kv.slice(0, i).toLowerCase(), decodeURIComponent(kv.slice(i + 1)));
  }
  const type = m[1].toLowerCase();
  // Names that the purl spec makes case-insensitive are compared in lower case.
  const lower = ['npm', 'pypi', 'deb', 'apk', 'golang', 'github'].includes(type);
  return {
    type,
    namespace: lower ? segs.join('/').toLowerCase() : segs.join('/'),
    name: type === 'pypi' ? name.toLowerCase().replace(/_/g, '-') : lower ? name.toLowerCase() : name,
    ...(m[3] ? { version: decodeURIComponent(m[3]) } : {}),
    qualifiers,
  };
}

/** A statement's purl covers a package's when type, namespace and name agree, and so do the version and qualifiers it names. */
export function purlCovers(statement: string, pkg: string): boolean {
  const s = parsePurl(statement);
  const p = parsePurl(pkg);
  if (!s || !p) return false;
  if (s.type !== p.type || s.namespace !== p.namespace || s.name !== p.name) return false;
  if (s.version !== undefined && s.version !== p.version) return false;
  for (const [k, v] of s.qualifiers) if (p.qualifiers.get(k) !== v) return false;
  return true;
}

/** A statement's time as a number (offsets honoured); one without a time is older than any with one. */
const time = (s: VexStatement) => {
  const t = s.timestamp ? Date.parse(s.timestamp) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
};

const digestIn = (id: string, digest: string) =>
  decodeURIComponent(id).toLowerCase().includes(digest.toLowerCase());

/**
 * The statement that decides a finding, if any applies: about one of its vulnerability ids, and
 * about its package (by purl) or the image (by digest; through a subcomponent when the product lists
 * any). The caller suppresses the finding when the status is not_affected or fixed.
 */
export function decide(
  statements: VexStatement[],
  ids: string[],
  purl: string,
  imageDigest?: string,
): VexStatement | undefined {
  const want = new Set(ids.map((x) => x.toUpperCase()));
  let best: VexStatement | undefined;
  for (const s of statements) {
    if (!s.vulnerability.some((v) => want.has(v.toUpperCase()))) continue;
    const applies = s.products.some((p) => {
      if (p.ids.some((id) => purlCovers(id, purl))) return true;
      if (!imageDigest || !p.ids.some((id) => digestIn(id, imageDigest))) return false;
      return p.subcomponents.length === 0 || p.subcomponents.some((c) => purlCovers(c, purl));
    });
    if (!applies) continue;
    if (!best || time(s) > time(best) || (time(s) === time(best) && s.order > best.order)) best = s;
  }
  return best;
}
