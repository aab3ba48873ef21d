/**
 * `moat top NAME [ps options]` and Docker's `GET /containers/{id}/top?ps_args=`: the container's
 * processes as `ps` would print them. Docker runs the host's `ps` with the options as given and
 * keeps the rows of the container's PIDs; moat reads /proc itself (top/procs.ts) and formats the
 * columns here, so only a documented subset of ps's options is accepted and the rest is refused
 * by name rather than passed to a program. Pure: processes and a clock in, titles and rows out.
 *
 * Accepted: `-e`, `-A`, `-a`, `-x`, `-f`, `-o LIST` (also `-oLIST`, `-o=LIST`, `-eo LIST`), and the
 * BSD forms `aux`, `ux`, `ax`, `u`, `a`, `x`. Without options, `-ef` (Docker's default). The
 * columns of `-o` are the keywords of COLUMNS, each optionally renamed (`pid=ID`).
 */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** The controlling terminal's device number (stat's tty_nr), 0 for none. */
  ttyNr: number;
  /** The foreground process group of the terminal (stat's tpgid). */
  tpgid: number;
  /** stat's state letter: R, S, D, Z, T... */
  state: string;
  /** Effective user and group, and their names (as the container's /etc/passwd and /etc/group say). */
  uid: number;
  gid: number;
  user: string;
  group: string;
  comm: string;
  /** The command line; empty for a process that has none (ps shows `[comm]`). */
  args: string[];
  /** CPU time used (user + system), clock ticks. */
  cpuTicks: number;
  /** Start time, clock ticks after boot. */
  startTicks: number;
  nice: number;
  threads: number;
  /** Virtual size and resident memory, KiB. */
  vszKb: number;
  rssKb: number;
}

export interface PsClock {
  /** Now, ms since the epoch. */
  now: number;
  /** The host's boot time (/proc/stat's btime), seconds since the epoch. */
  bootTime: number;
  /** Clock ticks per second (USER_HZ). */
  hz: number;
  /** The host's memory, KiB (for %MEM). */
  memTotalKb: number;
  /** The time zone offset to print times in (minutes east of UTC): the caller's, by default. */
  tzOffsetMinutes?: number;
}

type Render = (p: ProcInfo, c: PsClock) => string;

/** Seconds the process has run. */
const elapsed = (p: ProcInfo, c: PsClock): number =>
  Math.max(0, Math.floor(c.now / 1000 - (c.bootTime + p.startTicks / c.hz)));

/** procps's C: integer percent of CPU over the process's life, at most 99. */
export function cpuInt(p: ProcInfo, c: PsClock): number {
  const s = elapsed(p, c);
  return s ? Math.min(99, Math.floor((p.cpuTicks * 100) / c.hz / s)) : 0;
}

/** procps's %CPU: one decimal, over the process's life. */
export function cpuPercent(p: ProcInfo, c: PsClock): string {
  const s = elapsed(p, c);
  const tenths = s ? Math.min(999, Math.floor((p.cpuTicks * 1000) / c.hz / s)) : 0;
  return `${Math.floor(tenths / 10)}.${tenths % 10}`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A time in the clock's zone, as broken-down fields. */
function local(ms: number, c: PsClock) {
  const off = c.tzOffsetMinutes ?? -new Date(ms).getTimezoneOffset();
  const d = new Date(ms + off * 60_000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth(),
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    min: d.getUTCMinutes(),
  };
}

/** procps's STIME/START: `HH:MM` today, `MmmDD` this year, else the year. */
export function startTime(p: ProcInfo, c: PsClock): string {
  const t = local((c.bootTime + p.startTicks / c.hz) * 1000, c);
  const n = local(c.now, c);
  if (t.year !== n.year) return String(t.year);
  if (t.month !== n.month || t.day !== n.day) return `${MONTHS[t.month]}${pad2(t.day)}`;
  return `${pad2(t.hour)}:${pad2(t.min)}`;
}

/** procps's TIME: cumulative CPU time, `[DD-]HH:MM:SS`. */
export function cpuTime(p: ProcInfo, c: PsClock): string {
  const s = Math.floor(p.cpuTicks / c.hz);
  const days = Math.floor(s / 86400);
  const hms = `${pad2(Math.floor((s % 86400) / 3600))}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  return days ? `${days}-${hms}` : hms;
}

/** BSD TIME (`ps aux`): minutes and seconds, `M:SS`. */
export function bsdTime(p: ProcInfo, c: PsClock): string {
  const s = Math.floor(p.cpuTicks / c.hz);
  return `${Math.floor(s / 60)}:${pad2(s % 60)}`;
}

/** procps's ELAPSED: `[[DD-]HH:]MM:SS`. */
export function elapsedTime(p: ProcInfo, c: PsClock): string {
  const s = elapsed(p, c);
  const days = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const ms = `${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  if (days) return `${days}-${pad2(h)}:${ms}`;
  return h ? `${pad2(h)}:${ms}` : ms;
}

/** The terminal's name from stat's tty_nr, as ps names it: `pts/0`, `tty1`, `ttyS0`, or `?`. */
export function ttyName(ttyNr: number): string {
  if (!ttyNr) return '?';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${minor + (major - 136) * 256}`;
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`;
  if (major === 5 && minor === 0) return 'tty';
  if (major === 5 && minor === 1) return 'console';
  return `${major},${minor}`;
}

/** BSD STAT: the state and ps's flags (`<` `N` nice, `s` session leader, `l` threads, `+` foreground). */
export function bsdStat(p: ProcInfo): string {
  return (
    p.state +
    (p.nice < 0 ? '<' : p.nice > 0 ? 'N' : '') +
    (p.pid === p.sid ? 's' : '') +
    (p.threads > 1 ? 'l' : '') +
    (p.ttyNr && p.tpgid === p.pgid ? '+' : '')
  );
}

const command = (p: ProcInfo) => (p.args.length ? p.args.join(' ') : `[${p.comm}]`);

/** ps's keywords moat offers: header and value. Aliases point at the same column. */
export const COLUMNS: Readonly<Record<string, { header: string; value: Render }>> = (() => {
  const n = (f: (p: ProcInfo) => number) => (p: ProcInfo) => String(f(p));
  const base: Record<string, { header: string; value: Render }> = {
    pid: { header: 'PID', value: n((p) => p.pid) },
    ppid: { header: 'PPID', value: n((p) => p.ppid) },
    pgid: { header: 'PGID', value: n((p) => p.pgid) },
    sid: { header: 'SID', value: n((p) => p.sid) },
    uid: { header: 'UID', value: n((p) => p.uid) },
    user: { header: 'USER', value: (p) => p.user },
    gid: { header: 'GID', value: n((p) => p.gid) },
    group: { header: 'GROUP', value: (p) => p.group },
    comm: { header: 'COMMAND', value: (p) => p.comm },
    args: { header: 'COMMAND', value: command },
    cmd: { header: 'CMD', value: command },
    c: { header: 'C', value: (p, c) => String(cpuInt(p, c)) },
    pcpu: { header: '%CPU', value: cpuPercent },
    pmem: {
      header: '%MEM',
      value: (p, c) => (c.memTotalKb ? ((p.rssKb * 100) / c.memTotalKb).toFixed(1) : '0.0'),
    },
    vsz: { header: 'VSZ', value: n((p) => p.vszKb) },
    rss: { header: 'RSS', value: n((p) => p.rssKb) },
    tty: { header: 'TT', value: (p) => ttyName(p.ttyNr) },
    tname: { header: 'TTY', value: (p) => ttyName(p.ttyNr) },
    stat: { header: 'STAT', value: bsdStat },
    s: { header: 'S', value: (p) => p.state },
    stime: { header: 'STIME', value: startTime },
    start_time: { header: 'START', value: startTime },
    time: { header: 'TIME', value: cpuTime },
    etime: { header: 'ELAPSED', value: elapsedTime },
    etimes: { header: 'ELAPSED', value: (p, c) => String(elapsed(p, c)) },
    nlwp: { header: 'NLWP', value: n((p) => p.threads) },
    ni: { header: 'NI', value: n((p) => p.nice) },
  };
  const alias = (to: string, header?: string) => ({ ...base[to], ...(header ? { header } : {}) });
  return {
    ...base,
    pgrp: alias('pgid', 'PGRP'),
    sess: alias('sid', 'SESS'),
    euid: alias('uid', 'EUID'),
    euser: alias('user', 'EUSER'),
    egid: alias('gid', 'EGID'),
    egroup: alias('group', 'EGROUP'),
    ucomm: alias('comm'),
    command: alias('args'),
    '%cpu': alias('pcpu'),
    '%mem': alias('pmem'),
    vsize: alias('vsz', 'VSZ'),
    rssize: alias('rss', 'RSS'),
    tt: alias('tty'),
    state: alias('s'),
    start: alias('start_time', 'STARTED'),
    cputime: alias('time'),
    thcount: alias('nlwp', 'THCNT'),
    nice: alias('ni'),
  };
})();

export interface PsColumn {
  key: string;
  header: string;
}

/** Column sets of ps's formats. */
const FORMATS = {
  /** `ps -e`: PID TTY TIME CMD (CMD as the command's name). */
  basic: [
    { key: 'pid', header: 'PID' },
    { key: 'tname', header: 'TTY' },
    { key: 'time', header: 'TIME' },
    { key: 'comm', header: 'CMD' },
  ],
  /** `ps -ef` (Docker's default). */
  full: [
    { key: 'user', header: 'UID' },
    { key: 'pid', header: 'PID' },
    { key: 'ppid', header: 'PPID' },
    { key: 'c', header: 'C' },
    { key: 'stime', header: 'STIME' },
    { key: 'tname', header: 'TTY' },
    { key: 'time', header: 'TIME' },
    { key: 'cmd', header: 'CMD' },
  ],
  /** `ps aux`. */
  user: [
    { key: 'user', header: 'USER' },
    { key: 'pid', header: 'PID' },
    { key: 'pcpu', header: '%CPU' },
    { key: 'pmem', header: '%MEM' },
    { key: 'vsz', header: 'VSZ' },
    { key: 'rss', header: 'RSS' },
    { key: 'tname', header: 'TTY' },
    { key: 'stat', header: 'STAT' },
    { key: 'start_time', header: 'START' },
    { key: 'bsdtime', header: 'TIME' },
    { key: 'args', header: 'COMMAND' },
  ],
} satisfies Record<string, PsColumn[]>;

export const PS_DEFAULT_ARGS = '-ef';
const SUPPORTED = '-e, -A, -a, -x, -f, -o LIST, or the BSD forms aux, ux, ax, u, a, x';

/** Why a ps option is refused (the caller makes the error). */
export class PsArgsError extends Error {}

function columnList(list: string): PsColumn[] {
  const out: PsColumn[] = [];
  // A `=HEADER` runs to the end of its item; items are separated by commas or spaces.
  for (const item of list.split(/[\s,]+/).filter(Boolean)) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).toLowerCase();
    const col = COLUMNS[key];
    if (!col)
      throw new PsArgsError(
        `unknown ps column "${key}": moat offers ${Object.keys(COLUMNS)
          .filter((k) => k !== 'bsdtime')
          .join(', ')}`,
      );
    out.push({ key, header: eq < 0 ? col.header : item.slice(eq + 1) });
  }
  if (!out.length) throw new PsArgsError('-o needs a list of columns, e.g. -o pid,user,args');
  return out;
}

/** The columns a ps command line asks for (`-ef` when empty). Throws PsArgsError for the rest. */
export function parsePsArgs(psArgs: string | undefined): PsColumn[] {
  const words = (psArgs ?? '').trim().split(/\s+/).filter(Boolean);
  if (!words.length) return parsePsArgs(PS_DEFAULT_ARGS);
  let full = false;
  let bsdUser = false;
  let columns: PsColumn[] | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.startsWith('--'))
      throw new PsArgsError(`ps option "${w}" is not offered: moat offers ${SUPPORTED}`);
    if (w.startsWith('-')) {
      const flags = w.slice(1);
      if (!flags) throw new PsArgsError(`ps option "-" is not valid: moat offers ${SUPPORTED}`);
      for (let j = 0; j < flags.length; j++) {
        const f = flags[j];
        if (f === 'e' || f === 'A' || f === 'a' || f === 'x') continue; // every process of the container
        if (f === 'f') {
          full = true;
          continue;
        }
        if (f === 'o') {
          const rest = flags.slice(j + 1).replace(/^=/, '');
          const list = rest || words[++i];
          if (list === undefined) throw new PsArgsError('-o needs a list of columns, e.g. -o pid,user,args');
          columns = [...(columns ?? []), ...columnList(list)];
          break;
        }
        throw new PsArgsError(`ps option "-${f}" is not offered: moat offers ${SUPPORTED}`);
      }
      continue;
    }
    if (/^[aux]+$/.test(w)) {
      if (w.includes('u')) bsdUser = true;
      continue;
    }
    throw new PsArgsError(`ps option "${w}" is not offered: moat offers ${SUPPORTED}`);
  }
  if (columns) return columns;
  if (bsdUser) return FORMATS.user;
  return full ? FORMATS.full : FORMATS.basic;
}

const VALUES: Readonly<Record<string, Render>> = {
  ...Object.fromEntries(Object.entries(COLUMNS).map(([k, v]) => [k, v.value])),
  bsdtime: bsdTime,
};

/** Docker's answer: the titles, and one row of strings per process (by PID). */
export function psTable(
  procs: readonly ProcInfo[],
  columns: readonly PsColumn[],
  clock: PsClock,
): { Titles: string[]; Processes: string[][] } {
  const rows = [...procs]
    .sort((a, b) => a.pid - b.pid)
    .map((p) => columns.map((c) => VALUES[c.key](p, clock)));
  return { Titles: columns.map((c) => c.header), Processes: rows };
}

/**
 * docker top's table: tab-separated cells through Go's tabwriter (minimum width 20, padding 3),
 * the last column as it is.
 */
export function topText(t: { Titles: string[]; Processes: string[][] }): string {
  const rows = [t.Titles, ...t.Processes];
  const widths = t.Titles.map((_, i) => Math.max(20, ...rows.map((r) => (r[i] ?? '').length + 3)));
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join(''))
    .join('\n')
    .concat('\n');
}
