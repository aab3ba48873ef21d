/** The CLI side of cp: docker's argument rules and paths. */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerPath, hostPath, splitCpArg } from '../../../src/cli/files.js';

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
