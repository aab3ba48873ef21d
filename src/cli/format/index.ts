/**
 * docker's output formats for moat's commands: `--format` of a list (`table`, `json`, or a Go
 * template, `table TEMPLATE` for a header row and aligned columns) and `inspect -f`. A template
 * that cannot be parsed or run is CLI_USAGE with Go's message.
 */
import { UsageError } from '../errors.js';
import { isTemplateFormat } from './fields.js';
import { tabwrite } from './tabwriter.js';
import {
  execute,
  HEADER_FUNCS,
  parseTemplate,
  TemplateError,
  type GoStruct,
  type Template,
} from './template.js';

export type ListFormat =
  { kind: 'table' } | { kind: 'json' } | { kind: 'template'; template: Template; table: boolean };

function usage(e: unknown, hint: string): never {
  if (e instanceof TemplateError) throw new UsageError(e.message, { hint });
  throw e;
}

/**
 * A list command's `--format`: `table` (moat's table), `json`, or a template, as docker's
 * formatter reads it: a `table` prefix, spaces trimmed, `\t` and `\n` written as two characters
 * taken as a tab and a newline.
 */
export function listFormat(format: string, hint: string): ListFormat {
  if (!isTemplateFormat(format)) return { kind: format === 'json' ? 'json' : 'table' };
  const table = format.startsWith('table');
  const body = (table ? format.slice('table'.length) : format)
    .replace(/^ +| +$/g, '')
    .replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n'));
  let template: Template;
  try {
    template = parseTemplate(body);
  } catch (e) {
    return usage(e, hint);
  }
  noActions(template, format, hint);
  return { kind: 'template', template, table };
}

/**
 * A format without a single {{action}} (`--format yaml`) is refused: docker would print it once
 * per row, which is never what was meant by a format's name.
 */
function noActions(t: Template, format: string, hint: string): void {
  if (!t.root.some((n) => n.t !== 'text'))
    throw new UsageError(`unknown format ${JSON.stringify(format)}: not table, json or a template`, { hint });
}

/** Each row through the template, one line each; with `table`, a header row and aligned columns. */
export function renderList(
  f: { template: Template; table: boolean },
  rows: readonly GoStruct[],
  header: GoStruct,
  hint: string,
): string {
  let out = '';
  try {
    for (const r of rows) out += execute(f.template, r) + '\n';
  } catch (e) {
    usage(e, hint);
  }
  if (!f.table) return out;
  // docker ignores an error in the header row and prints what was written before it
  let head: string;
  try {
    head = execute(f.template, header, { funcs: HEADER_FUNCS });
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    head = e.partial ?? '';
  }
  return tabwrite(`${head}\n${out}`);
}

/** `inspect -f`: undefined for the JSON output (no format, or `json`), else the template. */
export function inspectFormat(format: string | undefined, hint: string): Template | undefined {
  if (format === undefined || format === '' || format === 'json') return undefined;
  let template: Template;
  try {
    template = parseTemplate(format);
  } catch (e) {
    return usage(e, hint);
  }
  noActions(template, format, hint);
  return template;
}

/** One object through an inspect template, and a newline. */
export function renderOne(t: Template, data: unknown, hint: string): string {
  try {
    return execute(t, data) + '\n';
  } catch (e) {
    return usage(e, hint);
  }
}
