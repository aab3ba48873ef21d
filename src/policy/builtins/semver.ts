/** semver.compare and semver.is_valid (SemVer 2.0.0, no leading "v"). */
import { register } from './registry.js';
import { fail, str } from './util.js';

const RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

function parse(fn: string, s: string): RegExpExecArray {
  const m = RE.exec(s);
  if (!m) fail(fn, `operand 1: string ${JSON.stringify(s)} is not a valid SemVer`);
  return m;
}

function cmpNum(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function semverCompare(a: string, b: string, fn = 'semver.compare'): number {
  const x = parse(fn, a);
  let y: RegExpExecArray;
  try {
    y = parse(fn, b);
  } catch {
    fail(fn, `operand 2: string ${JSON.stringify(b)} is not a valid SemVer`);
  }
  for (let i = 1; i <= 3; i++) {
    const c = cmpNum(x[i], y[i]);
    if (c) return c;
  }
  const px = x[4];
  const py = y[4];
  if (px === undefined && py === undefined) return 0;
  if (px === undefined) return 1;
  if (py === undefined) return -1;
  const ax = px.split('.');
  const ay = py.split('.');
  for (let i = 0; i < Math.max(ax.length, ay.length); i++) {
    if (i >= ax.length) return -1;
    if (i >= ay.length) return 1;
    const nx = /^\d+$/.test(ax[i]);
    const ny = /^\d+$/.test(ay[i]);
    if (nx && ny) {
      const c = cmpNum(ax[i], ay[i]);
      if (c) return c;
    } else if (nx) return -1;
    else if (ny) return 1;
    else if (ax[i] !== ay[i]) return ax[i] < ay[i] ? -1 : 1;
  }
  return 0;
}

register('semver.compare', (a) => semverCompare(str('semver.compare', a, 0), str('semver.compare', a, 1)));
register('semver.is_valid', ([v]) => typeof v === 'string' && RE.test(v));
