/**
 * Every builtin, declared once as data: name, argument types, result type, flags, grouped by the
 * family (one file in this folder) that implements it. Implementations register under these names
 * (registry.ts refuses undeclared ones); families.ts loads a family only when a policy calls one of
 * its builtins. Type names: any, string, number, boolean, null, array, object, set, collection
 * (array|object|set).
 */
import type { BuiltinDecl } from './types.js';

type Row = [name: string, args: string | null, result: string, flags?: string];

/** Families: the file name under builtins/; `core` is handled by the evaluator itself (print). */
export type Family =
  | 'core'
  | 'operators'
  | 'aggregates'
  | 'strings'
  | 'typenames'
  | 'objects'
  | 'regex'
  | 'encoding'
  | 'yaml'
  | 'numbers'
  | 'time'
  | 'net'
  | 'crypto'
  | 'semver'
  | 'misc'
  | 'jwt'
  | 'x509'
  | 'aws'
  | 'graphql'
  | 'rego';

// flags: n = nondeterministic, r = relation, d = deprecated (not available to v1 modules)
const ROWS: Record<Family, Row[]> = {
  operators: [
    ['equal', 'any,any', 'boolean'],
    ['neq', 'any,any', 'boolean'],
    ['lt', 'any,any', 'boolean'],
    ['lte', 'any,any', 'boolean'],
    ['gt', 'any,any', 'boolean'],
    ['gte', 'any,any', 'boolean'],
    ['plus', 'number,number', 'number'],
    ['minus', 'any,any', 'any'],
    ['mul', 'number,number', 'number'],
    ['div', 'number,number', 'number'],
    ['rem', 'number,number', 'number'],
    ['and', 'set,set', 'set'],
    ['or', 'set,set', 'set'],
    ['internal.member_2', 'any,any', 'boolean'],
    ['internal.member_3', 'any,any,any', 'boolean'],
  ],
  core: [['print', null, 'null']],
  misc: [
    ['trace', 'string', 'boolean'],
    ['units.parse', 'string', 'number'],
    ['units.parse_bytes', 'string', 'number'],
    ['opa.runtime', '', 'object'],
    ['http.send', 'object', 'object', 'n'],
    ['net.lookup_ip_addr', 'string', 'set', 'n'],
    ['graph.reachable', 'object,collection', 'set'],
    ['graph.reachable_paths', 'object,collection', 'set'],
  ],
  numbers: [
    ['abs', 'number', 'number'],
    ['ceil', 'number', 'number'],
    ['floor', 'number', 'number'],
    ['round', 'number', 'number'],
    ['numbers.range', 'number,number', 'array'],
    ['numbers.range_step', 'number,number,number', 'array'],
    ['rand.intn', 'string,number', 'number', 'n'],
    ['to_number', 'any', 'number'],
    ['bits.and', 'number,number', 'number'],
    ['bits.or', 'number,number', 'number'],
    ['bits.xor', 'number,number', 'number'],
    ['bits.negate', 'number', 'number'],
    ['bits.lsh', 'number,number', 'number'],
    ['bits.rsh', 'number,number', 'number'],
  ],
  strings: [
    ['format_int', 'number,number', 'string'],
    ['concat', 'string,collection', 'string'],
    ['contains', 'string,string', 'boolean'],
    ['startswith', 'string,string', 'boolean'],
    ['endswith', 'string,string', 'boolean'],
    ['indexof', 'string,string', 'number'],
    ['indexof_n', 'string,string', 'array'],
    ['lower', 'string', 'string'],
    ['upper', 'string', 'string'],
    ['replace', 'string,string,string', 'string'],
    ['split', 'string,string', 'array'],
    ['sprintf', 'string,array', 'string'],
    ['substring', 'string,number,number', 'string'],
    ['trim', 'string,string', 'string'],
    ['trim_left', 'string,string', 'string'],
    ['trim_right', 'string,string', 'string'],
    ['trim_prefix', 'string,string', 'string'],
    ['trim_suffix', 'string,string', 'string'],
    ['trim_space', 'string', 'string'],
    ['strings.replace_n', 'object,string', 'string'],
    ['strings.reverse', 'string', 'string'],
    ['strings.any_prefix_match', 'any,any', 'boolean'],
    ['strings.any_suffix_match', 'any,any', 'boolean'],
    ['strings.count', 'string,string', 'number'],
  ],
  aggregates: [
    ['count', 'collection', 'number'],
    ['sum', 'collection', 'number'],
    ['product', 'collection', 'number'],
    ['max', 'collection', 'any'],
    ['min', 'collection', 'any'],
    ['sort', 'collection', 'array'],
    ['all', 'collection', 'boolean', 'd'],
    ['any', 'collection', 'boolean', 'd'],
    ['array.concat', 'array,array', 'array'],
    ['array.slice', 'array,number,number', 'array'],
    ['array.reverse', 'array', 'array'],
    ['intersection', 'set', 'set'],
    ['union', 'set', 'set'],
    ['set_diff', 'set,set', 'set', 'd'],
  ],
  objects: [
    ['object.get', 'object,any,any', 'any'],
    ['object.keys', 'object', 'set'],
    ['object.union', 'object,object', 'object'],
    ['object.union_n', 'array', 'object'],
    ['object.remove', 'object,collection', 'object'],
    ['object.filter', 'object,collection', 'object'],
    ['object.subset', 'any,any', 'boolean'],
    ['json.filter', 'object,collection', 'object'],
    ['json.remove', 'object,collection', 'object'],
    ['json.patch', 'any,array', 'any'],
    ['walk', 'any', 'array', 'r'],
  ],
  regex: [
    ['regex.match', 'string,string', 'boolean'],
    ['re_match', 'string,string', 'boolean', 'd'],
    ['regex.is_valid', 'any', 'boolean'],
    ['regex.split', 'string,string', 'array'],
    ['regex.find_n', 'string,string,number', 'array'],
    ['regex.find_all_string_submatch_n', 'string,string,number', 'array'],
    ['regex.replace', 'string,string,string', 'string'],
    ['regex.template_match', 'string,string,string,string', 'boolean'],
    ['regex.globs_match', 'string,string', 'boolean'],
    ['glob.match', 'string,any,string', 'boolean'],
    ['glob.quote_meta', 'string', 'string'],
  ],
  typenames: [
    ['is_number', 'any', 'boolean'],
    ['is_string', 'any', 'boolean'],
    ['is_boolean', 'any', 'boolean'],
    ['is_array', 'any', 'boolean'],
    ['is_set', 'any', 'boolean'],
    ['is_object', 'any', 'boolean'],
    ['is_null', 'any', 'boolean'],
    ['type_name', 'any', 'string'],
    ['cast_array', 'any', 'array', 'd'],
    ['cast_set', 'any', 'set', 'd'],
    ['cast_string', 'any', 'string', 'd'],
    ['cast_boolean', 'any', 'boolean', 'd'],
    ['cast_null', 'any', 'null', 'd'],
    ['cast_object', 'any', 'object', 'd'],
  ],
  encoding: [
    ['base64.encode', 'string', 'string'],
    ['base64.decode', 'string', 'string'],
    ['base64.is_valid', 'string', 'boolean'],
    ['base64url.encode', 'string', 'string'],
    ['base64url.encode_no_pad', 'string', 'string'],
    ['base64url.decode', 'string', 'string'],
    ['hex.encode', 'string', 'string'],
    ['hex.decode', 'string', 'string'],
    ['urlquery.encode', 'string', 'string'],
    ['urlquery.decode', 'string', 'string'],
    ['urlquery.encode_object', 'object', 'string'],
    ['urlquery.decode_object', 'string', 'object'],
    ['json.marshal', 'any', 'string'],
    ['json.marshal_with_options', 'any,object', 'string'],
    ['json.unmarshal', 'string', 'any'],
    ['json.is_valid', 'string', 'boolean'],
  ],
  yaml: [
    ['yaml.marshal', 'any', 'string'],
    ['yaml.unmarshal', 'string', 'any'],
    ['yaml.is_valid', 'string', 'boolean'],
  ],
  time: [
    ['time.now_ns', '', 'number', 'n'],
    ['test.sleep', 'string', 'null', 'n'],
    ['time.parse_rfc3339_ns', 'string', 'number'],
    ['time.parse_ns', 'string,string', 'number'],
    ['time.parse_duration_ns', 'string', 'number'],
    ['time.date', 'any', 'array'],
    ['time.clock', 'any', 'array'],
    ['time.weekday', 'any', 'string'],
    ['time.add_date', 'number,number,number,number', 'number'],
    ['time.diff', 'any,any', 'array'],
    ['time.format', 'any', 'string'],
  ],
  net: [
    ['net.cidr_contains', 'string,string', 'boolean'],
    ['net.cidr_intersects', 'string,string', 'boolean'],
    ['net.cidr_overlap', 'string,string', 'boolean', 'd'],
    ['net.cidr_merge', 'collection', 'set'],
    ['net.cidr_expand', 'string', 'set'],
    ['net.cidr_is_valid', 'string', 'boolean'],
    ['net.cidr_contains_matches', 'any,any', 'set'],
  ],
  crypto: [
    ['crypto.sha256', 'string', 'string'],
    ['crypto.sha1', 'string', 'string'],
    ['crypto.md5', 'string', 'string'],
    ['crypto.hmac.md5', 'string,string', 'string'],
    ['crypto.hmac.sha1', 'string,string', 'string'],
    ['crypto.hmac.sha256', 'string,string', 'string'],
    ['crypto.hmac.sha512', 'string,string', 'string'],
    ['crypto.hmac.equal', 'string,string', 'boolean'],
    ['uuid.rfc4122', 'string', 'string', 'n'],
    ['uuid.parse', 'string', 'object'],
  ],
  x509: [
    ['crypto.x509.parse_certificates', 'string', 'array'],
    ['crypto.x509.parse_and_verify_certificates', 'string', 'array'],
    ['crypto.x509.parse_certificate_request', 'string', 'object'],
    ['crypto.x509.parse_rsa_private_key', 'string', 'object'],
    ['crypto.x509.parse_keypair', 'string,string', 'object'],
    ['crypto.parse_private_keys', 'string', 'array'],
  ],
  semver: [
    ['semver.compare', 'string,string', 'number'],
    ['semver.is_valid', 'any', 'boolean'],
  ],
  jwt: [
    ['io.jwt.decode', 'string', 'array'],
    ['io.jwt.verify_hs256', 'string,string', 'boolean'],
    ['io.jwt.verify_hs384', 'string,string', 'boolean'],
    ['io.jwt.verify_hs512', 'string,string', 'boolean'],
    ['io.jwt.verify_rs256', 'string,string', 'boolean'],
    ['io.jwt.verify_rs384', 'string,string', 'boolean'],
    ['io.jwt.verify_rs512', 'string,string', 'boolean'],
    ['io.jwt.verify_ps256', 'string,string', 'boolean'],
    ['io.jwt.verify_ps384', 'string,string', 'boolean'],
    ['io.jwt.verify_ps512', 'string,string', 'boolean'],
    ['io.jwt.verify_es256', 'string,string', 'boolean'],
    ['io.jwt.verify_es384', 'string,string', 'boolean'],
    ['io.jwt.verify_es512', 'string,string', 'boolean'],
    ['io.jwt.decode_verify', 'string,object', 'array'],
    ['io.jwt.encode_sign', 'object,object,object', 'string'],
    ['io.jwt.encode_sign_raw', 'string,string,string', 'string'],
  ],
  graphql: [
    ['graphql.parse', 'string,string', 'array'],
    ['graphql.parse_and_verify', 'string,string', 'array'],
    ['graphql.parse_query', 'string', 'object'],
    ['graphql.parse_schema', 'string', 'object'],
    ['graphql.is_valid', 'string,string', 'boolean'],
    ['graphql.schema_is_valid', 'string', 'boolean'],
  ],
  rego: [
    ['rego.metadata.rule', '', 'any'],
    ['rego.metadata.chain', '', 'array'],
    ['rego.parse_module', 'string,string', 'object'],
  ],
  aws: [['providers.aws.sign_req', 'object,object,number', 'object']],
};

export const DECLS: BuiltinDecl[] = Object.entries(ROWS).flatMap(([family, rows]) =>
  rows.map(([name, args, result, flags = '']) => ({
    name,
    family: family as Family,
    args: args === null ? null : args === '' ? [] : args.split(','),
    result,
    nondeterministic: flags.includes('n') || undefined,
    relation: flags.includes('r') || undefined,
    deprecated: flags.includes('d') || undefined,
  })),
);
