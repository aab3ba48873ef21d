/**
 * Go's text/template, the subset docker accepts in `--format` and `inspect -f`: fields and
 * chains (`{{.A.B}}`), `$` and variables, pipelines (`{{.X | json}}`), if/else, with, range
 * (with `.` rebound, `$i, $e :=`, break, continue), parenthesized pipelines, trim markers
 * `{{- ... -}}`, comments, and the functions of funcs.ts (Go's builtins and docker's json,
 * split, join, title, lower, upper, pad, truncate). Not supported: define, template, block.
 *
 * A pure module: a template is parsed once, then run over data (values.ts says what data a
 * template can reach: own properties of plain objects and arrays, and a struct's fields). Work
 * is bounded: the source's length, nesting, steps and output all have limits.
 */
import { execute as run, type ExecLimits } from './exec.js';
import { FUNCS, type FuncDef } from './funcs.js';
import { parse, type Node } from './parse.js';
import { TemplateError } from './errors.js';

export { TemplateError } from './errors.js';
export { goStruct, type GoStruct } from './values.js';
export { HEADER_FUNCS, type FuncDef } from './funcs.js';

export interface TemplateLimits extends ExecLimits {
  /** Characters of template source. */
  maxSource: number;
}

export const TEMPLATE_LIMITS: TemplateLimits = {
  maxSource: 64 * 1024,
  maxOutput: 16 * 1024 * 1024,
  maxSteps: 1_000_000,
};

export interface Template {
  readonly source: string;
  readonly root: readonly Node[];
}

/** Parse `source`, or throw a TemplateError in Go's words. */
export function parseTemplate(source: string, limits: Partial<TemplateLimits> = {}): Template {
  const max = limits.maxSource ?? TEMPLATE_LIMITS.maxSource;
  if (source.length > max)
    throw new TemplateError(`template: : the template is longer than ${max} characters`);
  return { source, root: parse(source, new Set(Object.keys(FUNCS))) };
}

export interface ExecOptions {
  /** Functions replacing those of the same name (a table's header row uses HEADER_FUNCS). */
  funcs?: Readonly<Record<string, FuncDef>>;
  limits?: Partial<ExecLimits>;
}

/** Run a template over `data`; a TemplateError carries the output written before it (`partial`). */
export function execute(t: Template, data: unknown, o: ExecOptions = {}): string {
  return run(t.source, t.root, data, o.funcs ? { ...FUNCS, ...o.funcs } : FUNCS, {
    maxOutput: o.limits?.maxOutput ?? TEMPLATE_LIMITS.maxOutput,
    maxSteps: o.limits?.maxSteps ?? TEMPLATE_LIMITS.maxSteps,
  });
}

/** Parse and run in one go (tests, one-off formats). */
export function render(source: string, data: unknown, o: ExecOptions = {}): string {
  return execute(parseTemplate(source), data, o);
}
