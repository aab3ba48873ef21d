/**
 * `moat inspect` and `moat image inspect`: moat's record with docker's shape beside it (docker's
 * keys are capitalised, moat's are not, so neither hides the other): `.State.Status`,
 * `.State.ExitCode`, `.State.Pid`, `.Config.Image`, `.Id`, `.Name`, `.HostConfig`, `.Mounts` as
 * docker inspect has them, from the same functions as the Docker API's inspect. `-f/--format`
 * runs a Go template over that JSON, one line per object.
 */
import type { ContainerRecord } from '../runtime/state.js';
import { request } from './app.js';
import type { Template } from './format/template.js';
import type { CliState } from './index.js';
import { json } from './output.js';
import { forEachArg } from './report.js';

const HINT =
  "-f takes a Go template over the JSON moat inspect prints, e.g. '{{.State.Status}} {{.State.ExitCode}}' or '{{json .Config}}'";

/** The template of `-f` (the engine loaded only then), or undefined for the JSON output. */
async function template(format: string | undefined, hint: string) {
  if (format === undefined || format === '' || format === 'json') return undefined;
  const { inspectFormat, renderOne } = await import('./format/index.js');
  const t = inspectFormat(format, hint) as Template;
  return (data: unknown) => renderOne(t, data, hint);
}

/** As JSON reads it back: the template sees exactly what the JSON output shows. */
const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

export async function inspectContainers(
  ids: string[],
  f: { format?: string; security?: boolean },
  state: CliState,
): Promise<void> {
  const t = await template(f.format, HINT);
  if (f.security) {
    // What protects each container (runtime/security-report.ts), the same template or JSON.
    const out: unknown[] = [];
    await forEachArg(ids, state, async (id) => {
      const r = await request<object>('GET', `/containers/${encodeURIComponent(id)}/security`);
      if (t) process.stdout.write(t(asJson(r)));
      else out.push(r);
    });
    if (!t) process.stdout.write(json(out));
    return;
  }
  const { containerInspect } = await import('../api/docker/containers-inspect.js');
  const out: unknown[] = [];
  await forEachArg(ids, state, async (id) => {
    const rec = await request<ContainerRecord>('GET', `/containers/${encodeURIComponent(id)}/json`);
    const doc = asJson({ ...containerInspect(rec), ...rec });
    if (t) process.stdout.write(t(doc));
    else out.push(doc);
  });
  if (!t) process.stdout.write(json(out));
}

export async function inspectImages(refs: string[], f: { format?: string }): Promise<void> {
  const hint = HINT.replace('moat inspect', 'moat image inspect');
  const t = await template(f.format, hint);
  const { imageInspect } = await import('../api/docker/images.js');
  const out: unknown[] = [];
  for (const r of refs) {
    const rec = await request<Parameters<typeof imageInspect>[0]>(
      'GET',
      `/images/${encodeURIComponent(r)}/json`,
    );
    const doc = asJson({ ...imageInspect(rec), ...rec });
    if (t) process.stdout.write(t(doc));
    else out.push(doc);
  }
  if (!t) process.stdout.write(json(out));
}
