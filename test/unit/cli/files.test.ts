/** The CLI side of cp and history: docker's argument rules, paths, sizes and columns. */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  containerPath,
  ellipsis,
  historySize,
  historyTable,
  hostPath,
  splitCpArg,
} from '../../../src/cli/files.js';

describe('cp arguments', () => {
  it("splits CONTAINER:PATH as docker does (absolute and ./ paths are the host's)", () => {
    expect(splitCpArg('web:/etc/hosts')).toEqual({ container: 'web', path: '/etc/hosts' });
    expect(splitCpArg('web:tmp')).toEqual({ container: 'web', path: 'tmp' });
    expect(splitCpArg('/abs/with:colon')).toEqual({ path: '/abs/with:colon' });
    expect(splitCpArg('./rel:colon')).toEqual({ path: './rel:colon' });
    expect(splitCpArg('plain')).toEqual({ path: 'plain' });
    expect(splitCpArg('-')).toEqual({ path: '-' });
  });

  it('takes container paths from the root and keeps / and /. on host paths', () => {
    expect(containerPath('tmp/x')).toBe('/tmp/x');
    expect(containerPath('/tmp/x/.')).toBe('/tmp/x/.');
    expect(hostPath('out/')).toBe(path.resolve('out') + '/');
    expect(hostPath('out/.')).toBe(path.resolve('out') + '/.');
    expect(hostPath('.')).toBe(path.resolve('.') + '/.');
    expect(hostPath('/')).toBe('/');
  });
});

describe('history output', () => {
  it("sizes as docker's (three significant digits) and CREATED BY cut with an ellipsis", () => {
    expect(historySize(0)).toBe('0B');
    expect(historySize(332)).toBe('332B');
    expect(historySize(1_062_000)).toBe('1.06MB');
    expect(historySize(117_400_000)).toBe('117MB');
    expect(ellipsis('x'.repeat(50), 45)).toBe('x'.repeat(44) + '…');
    expect(ellipsis('short', 45)).toBe('short');
  });

  it('prints docker history columns', () => {
    const now = Date.parse('2026-01-01T02:00:00Z');
    const out = historyTable(
      [
        {
          id: 'sha256:' + 'c'.repeat(64),
          created: '2026-01-01T00:00:00Z',
          createdBy: 'sh -c  echo\thi',
          size: 1234,
          comment: 'msg',
          tags: [],
        },
        {
          id: '<missing>',
          created: '2026-01-01T01:00:00Z',
          createdBy: 'ADD',
          size: 0,
          comment: '',
          tags: [],
        },
      ],
      { now },
    );
    expect(out.split('\n')).toEqual([
      'IMAGE          CREATED             CREATED BY      SIZE     COMMENT',
      'cccccccccccc   2 hours ago         sh -c echo hi   1.23kB   msg',
      '<missing>      About an hour ago   ADD             0B',
      '',
    ]);
  });
});
