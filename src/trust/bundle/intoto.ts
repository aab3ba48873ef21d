/**
 * The in-toto statement a DSSE bundle carries: what it says was signed (its subjects, by digest)
 * and what it says about them (predicate type and predicate, for attestations). Parsed strictly
 * enough to trust the subject digests; the predicate is handed on as data.
 */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPES = ['https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1'];
const MAX_SUBJECTS = 1024;

export interface Statement {
  type: string;
  subjects: { name?: string; sha256?: string }[];
  predicateType?: string;
  predicate?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a DSSE payload as an in-toto statement; throws an Error saying what is wrong. */
export function parseStatement(payloadType: string, payload: Buffer): Statement {
  if (payloadType !== INTOTO_PAYLOAD_TYPE)
    throw new Error(`the DSSE payload type is ${JSON.stringify(payloadType)}, not ${INTOTO_PAYLOAD_TYPE}`);
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new Error('the in-toto statement is not valid JSON');
  }
  if (!isObject(v)) throw new Error('the in-toto statement is not a JSON object');
  if (typeof v._type !== 'string' || !STATEMENT_TYPES.includes(v._type))
    throw new Error(`the in-toto statement type ${JSON.stringify(v._type)} is not known`);
  if (!Array.isArray(v.subject) || v.subject.length === 0)
    throw new Error('the in-toto statement has no subject');
  if (v.subject.length > MAX_SUBJECTS)
    throw new Error(`the in-toto statement has over ${MAX_SUBJECTS} subjects`);
  const subjects = v.subject.map((s: unknown, i: number) => {
    if (!isObject(s) || !isObject(s.digest)) throw new Error(`in-toto subject ${i + 1} has no digest`);
    const sha = s.digest.sha256;
    if (sha !== undefined && (typeof sha !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha)))
      throw new Error(`in-toto subject ${i + 1} has a malformed sha256 digest`);
    return {
      ...(typeof s.name === 'string' ? { name: s.name } : {}),
      ...(typeof sha === 'string' ? { sha256: sha.toLowerCase() } : {}),
    };
  });
  return {
    type: v._type,
    subjects,
    ...(typeof v.predicateType === 'string' ? { predicateType: v.predicateType } : {}),
    ...(v.predicate !== undefined ? { predicate: v.predicate } : {}),
  };
}

/** Does the statement name the artifact with this SHA-256 (hex) among its subjects? */
export function namesSubject(s: Statement, sha256Hex: string): boolean {
  return s.subjects.some((x) => x.sha256 === sha256Hex.toLowerCase());
}
