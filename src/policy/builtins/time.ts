/**
 * time.* — nanosecond timestamps, exact (bigint beyond 2^53, as OPA's big ints).
 *
 * Longer than 500 lines on purpose: most of it is Go's reference-time layouts (time.format and
 * time.parse_ns: one token table, a formatter and a parser that mirror each other), which share
 * the calendar and zone helpers of the other time.* builtins above them.
 */
import { operandError } from '../errors.js';
import { bignum, typeName, type Value } from '../value.js';
import { register } from './registry.js';
import { exact, fail, num, str } from './util.js';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const MAX_NS_BIG = 9223372036854775807n;

register('time.now_ns', (_a, ctx) => bignum(ctx.now));
// OPA's test helper; sleeping has no place on moat's request path, so it only validates its argument.
register('test.sleep', (a) => {
  parseDuration('test.sleep', str('test.sleep', a, 0));
  return null;
});

/** Offset in minutes east of UTC for an IANA zone at an instant. */
function zoneOffset(fn: string, tz: string, ms: number): number {
  if (tz === '' || tz === 'UTC') return 0;
  if (tz === 'Local') return -new Date(ms).getTimezoneOffset();
  try {
    const dtf = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    const p = Object.fromEntries(dtf.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    const asUTC = Date.UTC(
      Number(p.year),
      Number(p.month) - 1,
      Number(p.day),
      Number(p.hour),
      Number(p.minute),
      Number(p.second),
    );
    return Math.round((asUTC - Math.floor(ms / 1000) * 1000) / 60000);
  } catch {
    fail(fn, `unknown time zone ${tz}`);
  }
}

interface Parts {
  ns: bigint;
  tz: string;
  layout?: string;
}
/** An exact integer ns value (fractions truncated, as Go's int64 conversion does). */
function toNs(v: number | bigint): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isFinite(v)) return MAX_NS_BIG + 1n;
  return BigInt(Math.trunc(v));
}
function tsArg(fn: string, v: Value): Parts {
  if (typeof v === 'number' || typeof v === 'bigint') return { ns: toNs(v), tz: 'UTC' };
  if (Array.isArray(v) && v.length >= 1 && (typeof v[0] === 'number' || typeof v[0] === 'bigint')) {
    const tz = v[1] === undefined ? 'UTC' : v[1];
    if (typeof tz !== 'string') throw operandError(fn, 1, 'string', typeName(tz));
    const layout = v[2];
    if (layout !== undefined && typeof layout !== 'string')
      throw operandError(fn, 1, 'string', typeName(layout));
    return { ns: toNs(v[0]), tz, layout };
  }
  throw operandError(fn, 1, 'either number (ns) or [number (ns), string (tz)]', typeName(v));
}

/** A wall-clock breakdown of ns in the zone. */
function wall(fn: string, p: Parts): { d: Date; offMin: number; nsFrac: number } {
  if (p.ns > MAX_NS_BIG || p.ns < -MAX_NS_BIG) fail(fn, 'timestamp too big');
  const msBig = p.ns / 1000000n;
  const ms = Number(p.ns < 0n && msBig * 1000000n !== p.ns ? msBig - 1n : msBig);
  const offMin = zoneOffset(fn, p.tz, ms);
  const d = new Date(ms + offMin * 60000);
  const nsFrac = Number(((p.ns % 1000000000n) + 1000000000n) % 1000000000n);
  return { d, offMin, nsFrac };
}

register('time.date', ([v]) => {
  const { d } = wall('time.date', tsArg('time.date', v));
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
});
register('time.clock', ([v]) => {
  const { d } = wall('time.clock', tsArg('time.clock', v));
  return [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
});
register('time.weekday', ([v]) => DAYS[wall('time.weekday', tsArg('time.weekday', v)).d.getUTCDay()]);
register('time.add_date', (a) => {
  const ns = exact('time.add_date', a, 0);
  const y = num('time.add_date', a, 1);
  const m = num('time.add_date', a, 2);
  const dd = num('time.add_date', a, 3);
  const big = toNs(ns);
  const msPart = Number(big / 1000000n);
  const rem = big % 1000000n;
  const d = new Date(msPart);
  const r = Date.UTC(
    d.getUTCFullYear() + y,
    d.getUTCMonth() + m,
    d.getUTCDate() + dd,
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
  const out = BigInt(r) * 1000000n + rem;
  if (out > MAX_NS_BIG || out < -MAX_NS_BIG) fail('time.add_date', 'time outside of valid range');
  return bignum(out);
});
register('time.diff', ([x, y]) => {
  let a = wall('time.diff', { ...tsArg('time.diff', x), tz: 'UTC' }).d;
  let b = wall('time.diff', { ...tsArg('time.diff', y), tz: 'UTC' }).d;
  if (a > b) [a, b] = [b, a];
  let yr = b.getUTCFullYear() - a.getUTCFullYear();
  let mo = b.getUTCMonth() - a.getUTCMonth();
  let dy = b.getUTCDate() - a.getUTCDate();
  let h = b.getUTCHours() - a.getUTCHours();
  let mi = b.getUTCMinutes() - a.getUTCMinutes();
  let s = b.getUTCSeconds() - a.getUTCSeconds();
  if (s < 0) {
    s += 60;
    mi--;
  }
  if (mi < 0) {
    mi += 60;
    h--;
  }
  if (h < 0) {
    h += 24;
    dy--;
  }
  if (dy < 0) {
    const days = new Date(Date.UTC(a.getUTCFullYear(), a.getUTCMonth() + 1, 0)).getUTCDate();
    dy += days;
    mo--;
  }
  if (mo < 0) {
    mo += 12;
    yr--;
  }
  return [yr, mo, dy, h, mi, s];
});

// ---------------------------------------------------------------- Go layouts

const TOKENS = [
  'January',
  'Jan',
  'Monday',
  'Mon',
  '2006',
  '002',
  '01',
  '02',
  '_2',
  '06',
  '15',
  '03',
  '04',
  '05',
  'MST',
  'PM',
  'pm',
  'Z07:00:00',
  'Z07:00',
  'Z0700',
  'Z07',
  '-07:00:00',
  '-07:00',
  '-0700',
  '-07',
  '.000000000',
  '.999999999',
  '.000000',
  '.999999',
  '.000',
  '.999',
  ',000',
  '1',
  '2',
  '3',
  '4',
  '5',
];

function tokenizeLayout(layout: string): string[] {
  const out: string[] = [];
  let i = 0;
  let lit = '';
  while (i < layout.length) {
    const t = TOKENS.find((x) => layout.startsWith(x, i));
    if (t && !(t === '1' || t === '2' || t === '3' || t === '4' || t === '5') ? true : t !== undefined) {
      if (lit) {
        out.push('\0' + lit);
        lit = '';
      }
      out.push(t!);
      i += t!.length;
    } else lit += layout[i++];
  }
  if (lit) out.push('\0' + lit);
  return out;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

function formatLayout(d: Date, offMin: number, nsFrac: number, layout: string, tzName: string): string {
  let out = '';
  for (const t of tokenizeLayout(layout)) {
    if (t.startsWith('\0')) {
      out += t.slice(1);
      continue;
    }
    const off = Math.abs(offMin);
    const sign = offMin < 0 ? '-' : '+';
    switch (t) {
      case 'January':
        out += MONTHS[d.getUTCMonth()];
        break;
      case 'Jan':
        out += MONTHS[d.getUTCMonth()].slice(0, 3);
        break;
      case 'Monday':
        out += DAYS[d.getUTCDay()];
        break;
      case 'Mon':
        out += DAYS[d.getUTCDay()].slice(0, 3);
        break;
      case '2006':
        out += pad(d.getUTCFullYear(), 4);
        break;
      case '06':
        out += pad(d.getUTCFullYear() % 100, 2);
        break;
      case '01':
        out += pad(d.getUTCMonth() + 1, 2);
        break;
      case '1':
        out += d.getUTCMonth() + 1;
        break;
      case '02':
        out += pad(d.getUTCDate(), 2);
        break;
      case '_2':
        out += String(d.getUTCDate()).padStart(2, ' ');
        break;
      case '2':
        out += d.getUTCDate();
        break;
      case '002':
        out += pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1, 3);
        break;
      case '15':
        out += pad(d.getUTCHours(), 2);
        break;
      case '03':
        out += pad(d.getUTCHours() % 12 || 12, 2);
        break;
      case '3':
        out += d.getUTCHours() % 12 || 12;
        break;
      case '04':
        out += pad(d.getUTCMinutes(), 2);
        break;
      case '4':
        out += d.getUTCMinutes();
        break;
      case '05':
        out += pad(d.getUTCSeconds(), 2);
        break;
      case '5':
        out += d.getUTCSeconds();
        break;
      case 'PM':
        out += d.getUTCHours() >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += d.getUTCHours() >= 12 ? 'pm' : 'am';
        break;
      case 'MST':
        out += offMin === 0 ? 'UTC' : tzName;
        break;
      case 'Z07:00':
      case 'Z07:00:00':
        out += offMin === 0 ? 'Z' : `${sign}${pad(Math.floor(off / 60), 2)}:${pad(off % 60, 2)}`;
        break;
      case 'Z0700':
        out += offMin === 0 ? 'Z' : `${sign}${pad(Math.floor(off / 60), 2)}${pad(off % 60, 2)}`;
        break;
      case 'Z07':
        out += offMin === 0 ? 'Z' : `${sign}${pad(Math.floor(off / 60), 2)}`;
        break;
      case '-07:00':
      case '-07:00:00':
        out += `${sign}${pad(Math.floor(off / 60), 2)}:${pad(off % 60, 2)}`;
        break;
      case '-0700':
        out += `${sign}${pad(Math.floor(off / 60), 2)}${pad(off % 60, 2)}`;
        break;
      case '-07':
        out += `${sign}${pad(Math.floor(off / 60), 2)}`;
        break;
      default: {
        if (/^[.,]0+$/.test(t)) out += '.' + pad(nsFrac, 9).slice(0, t.length - 1);
        else if (/^[.,]9+$/.test(t)) {
          const f = pad(nsFrac, 9)
            .slice(0, t.length - 1)
            .replace(/0+$/, '');
          if (f) out += '.' + f;
        }
      }
    }
  }
  return out;
}

const LAYOUTS: Record<string, string> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
  Kitchen: '3:04PM',
  Stamp: 'Jan _2 15:04:05',
  StampMilli: 'Jan _2 15:04:05.000',
  StampMicro: 'Jan _2 15:04:05.000000',
  StampNano: 'Jan _2 15:04:05.000000000',
  DateTime: '2006-01-02 15:04:05',
  DateOnly: '2006-01-02',
  TimeOnly: '15:04:05',
};

register('time.format', ([v]) => {
  const p = tsArg('time.format', v);
  const { d, offMin, nsFrac } = wall('time.format', p);
  const layout = p.layout ? (LAYOUTS[p.layout] ?? p.layout) : LAYOUTS.RFC3339Nano;
  return formatLayout(d, offMin, nsFrac, layout, p.tz);
});

/** Parses value by a Go layout; returns ns since epoch. */
function parseLayout(fn: string, layout: string, value: string): number | bigint {
  let i = 0;
  let year = 1;
  let month = 1;
  let day = 1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let frac = 0;
  let pm: boolean | undefined;
  let off = 0;
  const bad = (): never =>
    fail(fn, `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse`);
  const digits = (min: number, max: number): number => {
    const m = new RegExp(`^\\d{${min},${max}}`).exec(value.slice(i));
    if (!m) bad();
    i += m![0].length;
    return Number(m![0]);
  };
  const word = (list: string[], len?: number): number => {
    for (let k = 0; k < list.length; k++) {
      const w = len ? list[k].slice(0, len) : list[k];
      if (value.slice(i, i + w.length).toLowerCase() === w.toLowerCase()) {
        i += w.length;
        return k;
      }
    }
    return bad();
  };
  const zone = (colon: boolean, z: boolean): void => {
    if (z && value[i] === 'Z') {
      i++;
      return;
    }
    const m = (colon ? /^([+-])(\d\d):(\d\d)/ : /^([+-])(\d\d)(\d\d)/).exec(value.slice(i));
    if (!m) bad();
    i += m![0].length;
    off = (m![1] === '-' ? -1 : 1) * (Number(m![2]) * 60 + Number(m![3]));
  };
  for (const t of tokenizeLayout(layout)) {
    if (t.startsWith('\0')) {
      const lit = t.slice(1);
      if (value.startsWith(lit, i)) i += lit.length;
      else if (lit.startsWith('.') || lit.startsWith(',')) bad();
      else bad();
      continue;
    }
    switch (t) {
      case 'January':
        month = word(MONTHS) + 1;
        break;
      case 'Jan':
        month = word(MONTHS, 3) + 1;
        break;
      case 'Monday':
        word(DAYS);
        break;
      case 'Mon':
        word(DAYS, 3);
        break;
      case '2006':
        year = digits(4, 4);
        break;
      case '06':
        year = 2000 + digits(2, 2);
        if (year >= 2069) year -= 100;
        break;
      case '01':
        month = digits(2, 2);
        break;
      case '1':
        month = digits(1, 2);
        break;
      case '02':
        day = digits(2, 2);
        break;
      case '_2':
        if (value[i] === ' ') i++;
        day = digits(1, 2);
        break;
      case '2':
        day = digits(1, 2);
        break;
      case '15':
        hour = digits(2, 2);
        break;
      case '03':
        hour = digits(2, 2);
        break;
      case '3':
        hour = digits(1, 2);
        break;
      case '04':
        min = digits(2, 2);
        break;
      case '4':
        min = digits(1, 2);
        break;
      case '05':
        sec = digits(2, 2);
        break;
      case '5':
        sec = digits(1, 2);
        break;
      case 'PM':
      case 'pm':
        pm = word(['AM', 'PM']) === 1;
        break;
      case 'MST': {
        const m = /^[A-Z]{3,4}/.exec(value.slice(i));
        if (!m) bad();
        i += m![0].length;
        break;
      }
      case 'Z07:00':
        zone(true, true);
        break;
      case 'Z0700':
        zone(false, true);
        break;
      case '-07:00':
        zone(true, false);
        break;
      case '-0700':
        zone(false, false);
        break;
      default:
        if (/^[.,][09]+$/.test(t)) {
          if (value[i] === '.' || value[i] === ',') {
            i++;
            const m = /^\d+/.exec(value.slice(i));
            if (!m) bad();
            i += m![0].length;
            frac = Number((m![0] + '000000000').slice(0, 9));
          } else if (t[1] === '0') bad();
        }
    }
    // Go accepts fractional seconds after a seconds field even if the layout has none
    if (
      (t === '05' || t === '5') &&
      (value[i] === '.' || value[i] === ',') &&
      /^[.,]\d/.test(value.slice(i))
    ) {
      const m = /^[.,](\d+)/.exec(value.slice(i))!;
      i += m[0].length;
      frac = Number((m[1] + '000000000').slice(0, 9));
    }
  }
  if (i !== value.length)
    fail(fn, `parsing time ${JSON.stringify(value)}: extra text: ${JSON.stringify(value.slice(i))}`);
  if (pm !== undefined) {
    if (pm && hour < 12) hour += 12;
    if (!pm && hour === 12) hour = 0;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59)
    fail(fn, `parsing time ${JSON.stringify(value)}: value out of range`);
  const ms = Date.UTC(year, month - 1, day, hour, min, sec) - off * 60000;
  if (year < 100) new Date(ms).setUTCFullYear(year);
  const ns = BigInt(ms) * 1000000n + BigInt(frac);
  if (ns > MAX_NS_BIG || ns < -MAX_NS_BIG - 1n) fail(fn, 'time outside of valid range');
  return bignum(ns);
}

register('time.parse_ns', (a) => {
  const layout = str('time.parse_ns', a, 0);
  return parseLayout('time.parse_ns', LAYOUTS[layout] ?? layout, str('time.parse_ns', a, 1));
});
register('time.parse_rfc3339_ns', (a) =>
  parseLayout('time.parse_rfc3339_ns', LAYOUTS.RFC3339, str('time.parse_rfc3339_ns', a, 0)),
);

const DUR: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
export function parseDuration(fn: string, s: string): number | bigint {
  const orig = s;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') fail(fn, `time: invalid duration ${JSON.stringify(orig)}`);
  let total = 0n;
  while (s) {
    const m = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/.exec(s);
    if (!m || (m[1] === '' && !m[2]))
      fail(fn, `time: ${m ? 'invalid' : 'missing unit in'} duration ${JSON.stringify(orig)}`);
    const unit = BigInt(DUR[m![3]]);
    total += BigInt(m![1] || '0') * unit;
    if (m![2]) total += BigInt(Math.round(Number('0.' + m![2]) * Number(unit)));
    s = s.slice(m![0].length);
  }
  if (total > MAX_NS_BIG) fail(fn, `time: invalid duration ${JSON.stringify(orig)}`);
  return bignum(sign < 0 ? -total : total);
}
register('time.parse_duration_ns', (a) =>
  parseDuration('time.parse_duration_ns', str('time.parse_duration_ns', a, 0)),
);
