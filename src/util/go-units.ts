/**
 * docker/go-units' sizes, as the docker CLI prints them: `BytesSize` (binary, `%.4g`: 1.5MiB,
 * 64MiB, 7.774GiB) for memory, `HumanSizeWithPrecision(n, 3)` (decimal: 0B, 1.23kB, 101MB) for
 * network and block I/O and disk usage. Go's `%g` is reproduced: the shortest of fixed and
 * exponent notation for that many significant digits, trailing zeros dropped (`1e+03kB` too).
 */

/** Go's `%.{prec}g` of a finite number. */
export function goG(v: number, prec: number): string {
  if (v === 0) return '0';
  const [mant, expText] = v.toExponential(prec - 1).split('e');
  const exp = Number(expText);
  const trim = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= prec) {
    const e = Math.abs(exp);
    return `${trim(mant)}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  return trim(v.toFixed(Math.max(0, prec - 1 - exp)));
}

const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];
const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

function custom(size: number, base: number, units: string[], prec: number): string {
  let v = size;
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return `${goG(v, prec)}${units[i]}`;
}

/** go-units BytesSize: memory, as `docker stats` shows it. */
export const bytesSize = (n: number): string => custom(n, 1024, BINARY, 4);

/** go-units HumanSizeWithPrecision(n, 3): I/O and disk sizes, as docker shows them. */
export const humanSize3 = (n: number): string => custom(n, 1000, DECIMAL, 3);

/** go-units HumanSize (precision 4): `docker system df`'s sizes. */
export const humanSize4 = (n: number): string => custom(n, 1000, DECIMAL, 4);
