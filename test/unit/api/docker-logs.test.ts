/** Docker's logs query onto moat's container.logs body. */
import { describe, expect, it } from 'vitest';
import { logsBody } from '../../../src/api/docker/logs.js';
import { MoatError } from '../../../src/errors.js';

const body = (q: string) => logsBody(new URLSearchParams(q));

describe('logsBody', () => {
  it('follow, timestamps, tail as Docker reads them', () => {
    expect(body('follow=1&timestamps=true&tail=3')).toEqual({ follow: true, timestamps: true, tail: 3 });
    expect(body('tail=0')).toEqual({ follow: false, timestamps: false, tail: 0 });
    expect(body('tail=all')).toEqual({ follow: false, timestamps: false });
    expect(body('tail=')).toEqual({ follow: false, timestamps: false });
  });

  it('since and until: Unix seconds as the docker CLI sends them; 0 is none; anything else refused', () => {
    expect(body('since=1700000000.500000000&until=1700000100')).toMatchObject({
      since: 1700000000.5,
      until: 1700000100,
    });
    expect(body('since=0')).not.toHaveProperty('since');
    for (const bad of ['since=10m', 'until=2026-01-01', 'since=-1']) {
      let err: unknown;
      try {
        body(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(MoatError);
      expect((err as MoatError).code).toBe('API_INVALID_REQUEST');
    }
  });
});
