/**
 * I/O edge: reads .rego modules and .json/.yaml data from files and directories, like OPA's
 * loader: a data file's content is placed at the path of its directory relative to the root given.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import yaml from 'js-yaml';
import type { ModuleSource } from './engine.js';
import { RegoError } from './errors.js';

export interface Loaded {
  modules: ModuleSource[];
  data: Record<string, unknown>;
}

const SKIP = new Set(['node_modules', '.git']);

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (e.name.startsWith('.') || SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function ioError(msg: string, cause?: unknown): RegoError {
  return new RegoError('POLICY_IO_ERROR', msg, undefined, undefined, {
    cause,
    hint: 'check the path given with -d / -i',
  });
}

export async function parseDataFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw ioError(`cannot read ${file}`, e);
  }
  try {
    return extname(file) === '.json' ? JSON.parse(text) : yaml.load(text, { schema: yaml.JSON_SCHEMA });
  } catch (e) {
    throw ioError(
      `${file}: invalid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`,
      e,
    );
  }
}

function merge(into: Record<string, unknown>, path: string[], value: unknown, file: string): void {
  let cur = into;
  for (const p of path) {
    const next = cur[p];
    if (next === undefined) cur[p] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next))
      throw ioError(`${file}: data conflicts with a value at ${path.join('.')}`);
    cur = cur[p] as Record<string, unknown>;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    if (!path.length) throw ioError(`${file}: root data document must be an object`);
    throw ioError(`${file}: data file must contain an object`);
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const prev = cur[k];
    if (
      prev !== undefined &&
      typeof prev === 'object' &&
      prev !== null &&
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v)
    )
      merge(cur, [k], v, file);
    else cur[k] = v;
  }
}

/** Loads every path (file or directory). */
export async function loadPaths(paths: string[], opts: { testsOnly?: boolean } = {}): Promise<Loaded> {
  const modules: ModuleSource[] = [];
  const data: Record<string, unknown> = {};
  for (const root of paths) {
    let st;
    try {
      st = await stat(root);
    } catch (e) {
      throw ioError(`${root}: no such file or directory`, e);
    }
    const files = st.isDirectory() ? await walk(root) : [root];
    for (const file of files) {
      const ext = extname(file);
      if (ext === '.rego') modules.push({ file, text: await readFile(file, 'utf8') });
      else if ((ext === '.json' || ext === '.yaml' || ext === '.yml') && !opts.testsOnly) {
        const rel = st.isDirectory() ? relative(root, join(file, '..')) : '';
        const path = rel ? rel.split(sep) : [];
        merge(data, path, await parseDataFile(file), file);
      }
    }
  }
  return { modules, data };
}
