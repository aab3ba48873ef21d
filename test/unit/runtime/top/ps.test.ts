/** moat top's ps: options, columns and their values, on processes made up here. */
import { describe, expect, it } from 'vitest';
import {
  bsdStat,
  cpuInt,
  cpuPercent,
  cpuTime,
  elapsedTime,
  parsePsArgs,
  psTable,
  PsArgsError,
  startTime,
  topText,
  ttyName,
  type ProcInfo,
  type PsClock,
} from '../../../../src/runtime/top/ps.js';
import {
  insideId,
  namesById,
  parseCmdline,
  parseIdMap,
  parseStatLine,
  parseStatusIds,
} from '../../../../src/runtime/top/procs.js';

// 2026-12-07 12:00:00 UTC; the host booted at 10:00:00 the same day.
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const clock: PsClock = {
  now: NOW,
  bootTime: NOW / 1000 - 7200,
  hz: 100,
  memTotalKb: 1_000_000,
  tzOffsetMinutes: 0,
};

function proc(more: Partial<ProcInfo> = {}): ProcInfo {
  return {
    pid: 4242,
    ppid: 4200,
    pgid: 4242,
    sid: 4242,
    ttyNr: 0,
    tpgid: -1,
    state: 'S',
    uid: 0,
    gid: 0,
    user: 'root',
    group: 'root',
    comm: 'sleep',
    args: ['sleep', '300'],
    cpuTicks: 150, // 1.5 s
    startTicks: 3600 * 100, // an hour after boot: 11:00, an hour ago
    nice: 0,
    threads: 1,
    vszKb: 1200,
    rssKb: 800,
    ...more,
  };
}

describe('ps options', () => {
  it('none is docker’s -ef: UID PID PPID C STIME TTY TIME CMD', () => {
    expect(parsePsArgs('').map((c) => c.header)).toEqual([
      'UID',
      'PID',
      'PPID',
      'C',
      'STIME',
      'TTY',
      'TIME',
      'CMD',
    ]);
    expect(parsePsArgs('-ef')).toEqual(parsePsArgs(undefined));
    expect(parsePsArgs('-e -f')).toEqual(parsePsArgs('-ef'));
  });

  it('-e alone: PID TTY TIME CMD; aux: the BSD user format', () => {
    expect(parsePsArgs('-e').map((c) => c.header)).toEqual(['PID', 'TTY', 'TIME', 'CMD']);
    expect(parsePsArgs('aux').map((c) => c.header)).toEqual([
      'USER',
      'PID',
      '%CPU',
      '%MEM',
      'VSZ',
      'RSS',
      'TTY',
      'STAT',
      'START',
      'TIME',
      'COMMAND',
    ]);
  });

  it('-o: keywords, renamed columns, in every spelling', () => {
    const want = [
      { key: 'pid', header: 'PID' },
      { key: 'user', header: 'USER' },
      { key: 'args', header: 'COMMAND' },
    ];
    for (const a of [
      '-o pid,user,args',
      '-opid,user,args',
      '-o=pid,user,args',
      '-eo pid,user,args',
      '-e -o pid -o user,args',
    ])
      expect(parsePsArgs(a), a).toEqual(want);
    expect(parsePsArgs('-o pid=ID,comm')).toEqual([
      { key: 'pid', header: 'ID' },
      { key: 'comm', header: 'COMMAND' },
    ]);
  });

  it('refuses what it does not offer, naming it', () => {
    expect(() => parsePsArgs('-H')).toThrow(PsArgsError);
    expect(() => parsePsArgs('-H')).toThrow(/"-H" is not offered/);
    expect(() => parsePsArgs('--forest')).toThrow(/"--forest"/);
    expect(() => parsePsArgs('-o pid,wchan')).toThrow(/unknown ps column "wchan"/);
    expect(() => parsePsArgs('-o')).toThrow(/-o needs a list/);
    expect(() => parsePsArgs('; rm -rf /')).toThrow(PsArgsError);
  });
});

describe('column values', () => {
  it('C and %CPU over the process’s life (1.5 s of CPU in an hour)', () => {
    expect(cpuInt(proc(), clock)).toBe(0);
    expect(cpuPercent(proc(), clock)).toBe('0.0');
    const busy = proc({ cpuTicks: 3600 * 50 }); // half a CPU for the hour
    expect(cpuInt(busy, clock)).toBe(50);
    expect(cpuPercent(busy, clock)).toBe('50.0');
    expect(cpuInt(proc({ cpuTicks: 3600 * 300 }), clock)).toBe(99); // capped, as procps
  });

  it('STIME: HH:MM today, MmmDD this year, the year before that', () => {
    expect(startTime(proc(), clock)).toBe('11:00');
    const yesterday = { ...clock, bootTime: clock.bootTime - 86400 };
    expect(startTime(proc(), yesterday)).toBe('Dec06');
    const lastYear = { ...clock, bootTime: Date.UTC(2025, 5, 1) / 1000 };
    expect(startTime(proc(), lastYear)).toBe('2025');
  });

  it('TIME, BSD TIME and ELAPSED', () => {
    expect(cpuTime(proc(), clock)).toBe('00:00:01');
    expect(cpuTime(proc({ cpuTicks: (86400 + 3723) * 100 }), clock)).toBe('1-01:02:03');
    expect(elapsedTime(proc(), clock)).toBe('01:00:00');
    expect(elapsedTime(proc({ startTicks: 7200 * 100 - 65 * 100 }), clock)).toBe('01:05');
  });

  it('terminals by device number, as ps names them', () => {
    expect(ttyName(0)).toBe('?');
    expect(ttyName((136 << 8) | 0)).toBe('pts/0');
    expect(ttyName((136 << 8) | 3)).toBe('pts/3');
    expect(ttyName((137 << 8) | 1)).toBe('pts/257');
    expect(ttyName((4 << 8) | 1)).toBe('tty1');
    expect(ttyName((4 << 8) | 64)).toBe('ttyS0');
  });

  it('BSD STAT flags', () => {
    expect(bsdStat(proc())).toBe('Ss');
    expect(bsdStat(proc({ pid: 5, nice: 5, threads: 3 }))).toBe('SNl');
    expect(bsdStat(proc({ state: 'R', ttyNr: 34816, tpgid: 4242 }))).toBe('Rs+');
  });
});

describe('the table', () => {
  it('docker’s {Titles, Processes}, by PID, and docker top’s text', () => {
    const procs = [proc({ pid: 7, ppid: 4242, args: [], comm: 'kworker', user: '1000' }), proc()];
    const t = psTable(procs, parsePsArgs(''), clock);
    expect(t.Titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(t.Processes).toEqual([
      ['1000', '7', '4242', '0', '11:00', '?', '00:00:01', '[kworker]'],
      ['root', '4242', '4200', '0', '11:00', '?', '00:00:01', 'sleep 300'],
    ]);
    const text = topText(t).split('\n');
    expect(text[0]).toBe(
      'UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD',
    );
    expect(text[2]).toMatch(/^root {16}4242 {16}4200 {16}0 {19}11:00 {15}\? {19}00:00:01 {12}sleep 300$/);
  });

  it('%MEM, VSZ and RSS in the aux format', () => {
    const t = psTable([proc()], parsePsArgs('aux'), clock);
    expect(t.Processes[0]).toEqual([
      'root',
      '4242',
      '0.0',
      '0.1',
      '1200',
      '800',
      '?',
      'Ss',
      '11:00',
      '0:01',
      'sleep 300',
    ]);
  });
});

describe('/proc files', () => {
  it('stat: the fields after a command name with spaces and parentheses', () => {
    const s = parseStatLine(
      '4242 (a b) c) S 4200 4242 4242 34816 4242 4194560 1 0 0 0 100 50 0 0 20 -5 2 0 360000 1228800 200',
    );
    expect(s).toMatchObject({
      pid: 4242,
      comm: 'a b) c',
      state: 'S',
      ppid: 4200,
      pgid: 4242,
      sid: 4242,
      ttyNr: 34816,
      tpgid: 4242,
      cpuTicks: 150,
      nice: -5,
      threads: 2,
      startTicks: 360000,
    });
    expect(parseStatLine('garbage')).toBeUndefined();
  });

  it('status: effective IDs and memory; cmdline: NUL-separated arguments', () => {
    expect(
      parseStatusIds('Uid:\t1001\t1000\t1000\t1000\nGid:\t5\t6\t6\t6\nVmSize:\t  1200 kB\nVmRSS:\t 800 kB\n'),
    ).toEqual({
      uid: 1000,
      gid: 6,
      rssKb: 800,
      vszKb: 1200,
    });
    expect(parseStatusIds('Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n')).toMatchObject({ rssKb: 0, vszKb: 0 });
    expect(parseCmdline(Buffer.from('sh\0-c\0echo a b\0'))).toEqual(['sh', '-c', 'echo a b']);
    expect(parseCmdline('')).toEqual([]);
  });

  it('host IDs back to the container’s, named from its /etc/passwd', () => {
    const map = parseIdMap('         0       1001          1\n         1     100000      65536\n');
    expect(insideId(map, 1001)).toBe(0);
    expect(insideId(map, 100999)).toBe(1000);
    expect(insideId(map, 0)).toBeUndefined();
    const names = namesById('root:x:0:0:root:/root:/bin/sh\n# comment\nwww:x:33:33::/:/bin/false\nbroken\n');
    expect([...names]).toEqual([
      [0, 'root'],
      [33, 'www'],
    ]);
  });
});
