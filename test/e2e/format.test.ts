/**
 * docker's output habits in moat's CLI, with real containers (issue 15): `ps --format` with a Go
 * template and with `table`, `ps --filter` (and `-q` with it, so `moat kill $(moat ps -q
 * --filter ...)` works), `-n`/`-l`, `inspect -f`, `images --format`, `image inspect -f`; a
 * template or filter moat cannot take is CLI_USAGE (exit 2), never ignored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, moat, uniq } from './moat.js';

/** This file's own label: the store is shared with the other test files. */
const run = uniq('fmt');
const names = { up: `${run}-up`, three: `${run}-three`, made: `${run}-made` };
const ids: Record<string, string> = {};
const mine = ['--filter', `label=run=${run}`];
const lines = (s: string) => s.split('\n').filter(Boolean);

async function ok(args: string[]): Promise<string> {
  const r = await moat(args);
  expect(r.code, `moat ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  const label = ['--label', `run=${run}`];
  await ok(['run', '-d', ...label, '--label', 'app=web', '--name', names.up, IMAGE, 'sleep', '120']);
  const r = await moat(['run', ...label, '--name', names.three, IMAGE, 'sh', '-c', 'exit 3']);
  expect(r.code, r.stderr).toBe(3);
  await ok(['create', ...label, '--name', names.made, IMAGE, 'true']);
  for (const [k, n] of Object.entries(names)) ids[k] = (await ok(['inspect', '-f', '{{.Id}}', n])).trim();
}, 120_000);

afterAll(async () => {
  await moat(['rm', '-f', ...Object.values(names)]);
});

describe('ps --format', () => {
  it("'{{.Names}} {{.Status}}': one line per container", async () => {
    const out = lines(await ok(['ps', '-a', ...mine, '--format', '{{.Names}} {{.Status}}']));
    expect(out).toHaveLength(3);
    expect(out).toContain(`${names.made} Created`);
    expect(out.find((l) => l.startsWith(`${names.up} `))).toMatch(/ Up \S/);
    expect(out.find((l) => l.startsWith(`${names.three} `))).toMatch(/ Exited \(3\) .* ago$/);
    // without -a (and no filter that implies it): running ones only
    expect(lines(await ok(['ps', '--format', '{{.Names}}'])).filter((n) => n.startsWith(run))).toEqual([
      names.up,
    ]);
  });

  it('docker’s fields: .ID, .Image, .Command, .State, .Labels, .Label, .Networks, {{json .}}', async () => {
    const t = '{{.ID}}|{{.Image}}|{{.Command}}|{{.State}}|{{.Label "app"}}|{{.Networks}}';
    const out = await ok(['ps', ...mine, '--filter', 'status=running', '--format', t]);
    expect(out).toBe(`${ids.up.slice(0, 12)}|${IMAGE}|"sleep 120"|running|web|none\n`);
    const j = JSON.parse(
      await ok(['ps', ...mine, '--filter', 'status=running', '--format', '{{json .}}']),
    ) as Record<string, string>;
    expect(j.Names).toBe(names.up);
    expect(j.Labels).toBe(`app=web,run=${run}`);
    expect(await ok(['ps', ...mine, '--filter', 'status=running', '--no-trunc', '--format', '{{.ID}}'])).toBe(
      `${ids.up}\n`,
    );
  });

  it("'table ...': a header row and columns aligned as docker's tabwriter does", async () => {
    const out = await ok(['ps', '-a', ...mine, '--format', 'table {{.Names}}\\t{{.State}}']);
    const [head, ...rows] = lines(out);
    const w = Math.max(...Object.values(names).map((n) => n.length)) + 3;
    expect(head).toBe(`${'NAMES'.padEnd(w)}STATE`);
    expect(rows.sort()).toEqual(
      [
        `${names.made.padEnd(w)}created`,
        `${names.three.padEnd(w)}exited`,
        `${names.up.padEnd(w)}running`,
      ].sort(),
    );
  });

  it('table and json stay as they were', async () => {
    const table = await ok(['ps', '-a', ...mine]);
    expect(lines(table)[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+NAMES$/);
    const json = JSON.parse(await ok(['ps', '-a', ...mine, '--format', 'json'])) as { Names: string }[];
    expect(json.map((c) => c.Names).sort()).toEqual(Object.values(names).sort());
  });

  it('a field docker does not have, or a template that does not parse, is CLI_USAGE', async () => {
    let r = await moat(['ps', '--format', '{{.Nope}}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext [CLI_USAGE]',
    );
    r = await moat(['ps', '--format', '{{.Names']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('template: :1: unclosed action [CLI_USAGE]');
    expect(r.stdout).toBe('');
  });
});

describe('ps --filter', () => {
  it('status=exited -q: the IDs of the exited containers only', async () => {
    expect(await ok(['ps', '--filter', 'status=exited', '-q', ...mine])).toBe(`${ids.three.slice(0, 12)}\n`);
    expect(lines(await ok(['ps', '-q', '--filter', 'status=exited']))).toContain(ids.three.slice(0, 12));
    expect(lines(await ok(['ps', '-q', '--filter', 'status=exited']))).not.toContain(ids.up.slice(0, 12));
  });

  it('name, label, exited, id, ancestor, before/since, -n, -l', async () => {
    const names_ = async (...args: string[]) => lines(await ok(['ps', '--format', '{{.Names}}', ...args]));
    expect(await names_('-a', '--filter', `name=${names.three}`)).toEqual([names.three]);
    expect(await names_('-a', '--filter', `name=^/${run}-(up|made)$`)).toEqual([names.made, names.up]);
    expect(await names_('--filter', 'label=app=web', ...mine)).toEqual([names.up]);
    expect(await names_('-a', '--filter', 'exited=3', ...mine)).toEqual([names.three]);
    expect(await names_('-a', '--filter', `id=${ids.made.slice(0, 10)}`)).toEqual([names.made]);
    expect(await names_('-a', '--filter', `ancestor=${IMAGE}`, ...mine)).toHaveLength(3);
    expect(await names_('-a', '--filter', 'ancestor=no-such-image', ...mine)).toEqual([]);
    expect(await names_('--filter', `before=${names.made}`, ...mine)).toEqual([names.three, names.up]);
    expect(await names_('--filter', `since=${names.up}`, ...mine)).toEqual([names.made, names.three]);
    expect(await names_('-n', '2', ...mine)).toEqual([names.made, names.three]);
    expect(await names_('-l', ...mine)).toEqual([names.made]);
  });

  it('a filter moat does not have is refused, not ignored', async () => {
    let r = await moat(['ps', '-q', '--filter', 'publish=80']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid filter 'publish' \[CLI_USAGE\]/);
    expect(r.stdout).toBe('');
    r = await moat(['ps', '-q', '--filter', 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('expected name=value');
    r = await moat(['ps', '--filter', 'status=stopped']);
    expect(r.code).toBe(2);
  });

  it('moat kill $(moat ps -q --filter ...) kills what the filter names', async () => {
    const q = lines(await ok(['ps', '-q', '--filter', 'status=running', ...mine]));
    expect(q).toEqual([ids.up.slice(0, 12)]);
    await ok(['kill', ...q]);
    await ok(['wait', names.up]);
    expect(await ok(['ps', '-q', '--filter', 'status=running', ...mine])).toBe('');
  });
});

describe('inspect -f', () => {
  it('docker’s paths over the JSON moat inspect prints', async () => {
    expect(await ok(['inspect', '-f', '{{.State.ExitCode}}', names.three])).toBe('3\n');
    expect(
      await ok([
        'inspect',
        '--format',
        '{{.State.Status}} {{.State.Pid}} {{.Config.Image}} {{.Name}}',
        names.three,
      ]),
    ).toBe(`exited 0 ${IMAGE} /${names.three}\n`);
    expect(await ok(['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}} {{json .Mounts}}', names.made])).toBe(
      'true []\n',
    );
    expect(await ok(['inspect', '-f', '{{.Id}}', names.three, names.made])).toBe(
      `${ids.three}\n${ids.made}\n`,
    );
    // moat's own fields are there too
    expect(await ok(['inspect', '-f', '{{.status}} {{.exitCode}}', names.three])).toBe('exited 3\n');
  });

  it('the JSON output has docker’s shape beside moat’s record', async () => {
    const [j] = JSON.parse(await ok(['inspect', names.three])) as Record<string, unknown>[];
    expect(j.Id).toBe(ids.three);
    expect(j.id).toBe(ids.three);
    expect((j.State as { ExitCode: number }).ExitCode).toBe(3);
    expect(j.exitCode).toBe(3);
  });

  it('a bad template is CLI_USAGE', async () => {
    const r = await moat(['inspect', '-f', '{{.State.ExitCode.X}}', names.three]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("can't evaluate field X in type int");
  });
});

describe('images --format', () => {
  it("'{{.Repository}}:{{.Tag}}' names what the table shows", async () => {
    // (other test files add and remove images meanwhile: only the default image's rows compare)
    const table = lines(await ok(['images']))
      .slice(1)
      .map((l) => l.split(/\s{3,}/))
      .map(([repo, tag]) => `${repo}:${tag}`)
      .filter((n) => n.includes(IMAGE));
    const out = lines(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).filter((n) =>
      n.includes(IMAGE),
    );
    expect(table.length).toBeGreaterThan(0);
    expect(out).toEqual(table);
  });

  it("'table ...' prints docker's header; image inspect -f reads docker's shape", async () => {
    const out = lines(await ok(['images', '--format', 'table {{.Repository}}\\t{{.ID}}']));
    expect(out[0]).toMatch(/^REPOSITORY\s{3,}IMAGE ID$/);
    const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', IMAGE])).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await ok(['images', '--filter', `reference=${IMAGE}`, '--format', '{{.ID}}'])).toContain(
      id.slice(7, 19),
    );
  });
});
