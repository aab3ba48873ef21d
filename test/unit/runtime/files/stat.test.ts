/** What docker cp's clients read: Go's FileMode bits, and the stat header of the archive routes. */
import { describe, expect, it } from 'vitest';
import { statHeader } from '../../../../src/api/docker/containers-archive.js';
import { goFileMode, isDirMode, isSymlinkMode } from '../../../../src/runtime/files/stat.js';

describe('goFileMode', () => {
  it('maps st_mode to os.FileMode', () => {
    expect(goFileMode(0o100644)).toBe(0o644);
    expect(goFileMode(0o040755)).toBe(2 ** 31 + 0o755);
    expect(goFileMode(0o120777)).toBe(2 ** 27 + 0o777);
    expect(goFileMode(0o104755)).toBe(2 ** 23 + 0o755);
    expect(goFileMode(0o041777)).toBe(2 ** 31 + 2 ** 20 + 0o777);
    expect(goFileMode(0o020666)).toBe(2 ** 26 + 2 ** 21 + 0o666);
    expect(isDirMode(goFileMode(0o040700))).toBe(true);
    expect(isDirMode(goFileMode(0o100700))).toBe(false);
    expect(isSymlinkMode(goFileMode(0o120777))).toBe(true);
    expect(isSymlinkMode(goFileMode(0o040777))).toBe(false);
  });

  it('sends the stat as base64 JSON in docker field order', () => {
    const h = statHeader({
      name: 'hosts',
      size: 3,
      mode: 420,
      mtime: '2026-01-01T00:00:00.000Z',
      linkTarget: '',
    });
    expect(JSON.parse(Buffer.from(h, 'base64').toString())).toEqual({
      name: 'hosts',
      size: 3,
      mode: 420,
      mtime: '2026-01-01T00:00:00.000Z',
      linkTarget: '',
    });
  });
});
