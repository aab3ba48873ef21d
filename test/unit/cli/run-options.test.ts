/** The run flags as options: -e VAR, --security-opt. */
import { describe, expect, it } from 'vitest';
import { toRunOptions } from '../../../src/cli/run-options.js';

const flags = (f: Partial<Parameters<typeof toRunOptions>[2]> = {}) => ({
  env: [],
  volume: [],
  tmpfs: [],
  capAdd: [],
  ulimit: [],
  securityOpt: [],
  label: [],
  ...f,
});

describe('toRunOptions', () => {
  it("-e VAR passes the caller's value, and leaves VAR unset when the caller has none (docker)", () => {
    process.env.MOAT_TEST_SET = 'yes';
    delete process.env.MOAT_TEST_UNSET;
    const o = toRunOptions('img', [], flags({ env: ['MOAT_TEST_SET', 'MOAT_TEST_UNSET', 'A=1', 'B='] }));
    expect(o.env).toEqual(['MOAT_TEST_SET=yes', 'A=1', 'B=']);
  });

  it('--security-opt no-new-privileges is accepted (always on); seccomp=unconfined is refused', () => {
    expect(
      toRunOptions('img', [], flags({ securityOpt: ['no-new-privileges'] })).seccompProfile,
    ).toBeUndefined();
    expect(() => toRunOptions('img', [], flags({ securityOpt: ['seccomp=unconfined'] }))).toThrow(
      expect.objectContaining({ code: 'SECCOMP_UNCONFINED_REFUSED' }),
    );
    expect(toRunOptions('img', [], flags({ securityOpt: ['seccomp=/p.json'] })).seccompProfile).toBe(
      '/p.json',
    );
  });
});
