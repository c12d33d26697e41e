/**
 * Timestamp text to Iceberg timestamp values (epoch microseconds): the parser of the pipeline's
 * transform (record fields), the run config (`source.initial_timestamp`) and the row filter of
 * `floe maintain compact --where`, one parser so that all read a time the same way.
 */
import { civilSeconds } from './civil-time.js';

/**
 * Parses an ISO-8601 date or date-time (`2026-01-08`, `2026-01-08T15:16:52.123456Z`, a space for
 * the `T`, `+05:30` / `+0530` / `+05` offsets) to epoch microseconds; without a zone the time is
 * taken as UTC. Digits beyond microseconds are truncated. Returns undefined when the text is not
 * such a time or names an impossible one (2026-02-30, 24:00, offset +25:00).
 */
export function parseTimestampMicros(s: string): bigint | undefined {
  const fast = parseCommonTimestamp(s);
  if (fast !== undefined) return fast === INVALID ? undefined : fast;
  const m = /^(-?\d{4,})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d\d(?::?\d\d)?)?$/.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(sec);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  const date = new Date(0);
  date.setUTCFullYear(Number(y), month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const ms = date.getTime();
  if (Number.isNaN(ms)) return undefined;
  // Reject dates that the Date arithmetic silently rolled over (2026-02-30).
  if (date.getUTCDate() !== day) return undefined;
  let micros = BigInt(ms) * 1000n + BigInt((frac + '000000').slice(0, 6));
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1n : 1n;
    const digits = zone.slice(1).replace(':', '');
    const offHours = Number(digits.slice(0, 2));
    const offMinutes = Number(digits.slice(2, 4) || '0');
    if (offHours > 23 || offMinutes > 59) return undefined;
    micros -= sign * BigInt(offHours * 60 + offMinutes) * 60_000_000n;
  }
  return micros;
}

/** {@link parseCommonTimestamp}'s answer for a text of the common shape naming no real time. */
const INVALID = -1;

/** Two ASCII digits at `i` as a number, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The shape nearly every producer sends, `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` (a space for the `T`,
 * a lowercase `z` too), parsed without a regex, a Date or intermediate strings: the hot path of
 * every event. Returns undefined for any other shape (the general parser then decides, so the
 * results are the same by construction) and INVALID for an impossible time of this shape
 * (2026-02-30, 24:00:00), which the general parser refuses as well.
 */
function parseCommonTimestamp(s: string): bigint | typeof INVALID | undefined {
  const n = s.length;
  if (n < 20 || n > 30) return undefined;
  const last = s.charCodeAt(n - 1);
  if (last !== 90 /* Z */ && last !== 122 /* z */) return undefined;
  const t = s.charCodeAt(10);
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || (t !== 84 && t !== 32) || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) {
    return undefined;
  }
  const yHi = twoDigits(s, 0);
  const yLo = twoDigits(s, 2);
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  const hour = twoDigits(s, 11);
  const minute = twoDigits(s, 14);
  const second = twoDigits(s, 17);
  if (yHi < 0 || yLo < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  let frac = 0;
  if (n > 20) {
    // `.` or `,` then 1..9 digits; digits beyond microseconds are truncated.
    const sep = s.charCodeAt(19);
    if ((sep !== 46 && sep !== 44) || n === 21) return undefined;
    for (let i = 20; i < n - 1; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return undefined;
      if (i < 26) frac = frac * 10 + d;
    }
    for (let i = Math.min(n - 1, 26); i < 26; i++) frac *= 10;
  } else if (s.charCodeAt(19) !== 90 && s.charCodeAt(19) !== 122) {
    return undefined;
  }
  const seconds = civilSeconds(yHi * 100 + yLo, month, day, hour, minute, second);
  if (Number.isNaN(seconds)) return INVALID;
  // Exact in a double while below 2^53 microseconds (until the year 2255).
  const micros = seconds * 1_000_000 + frac;
  return Number.isSafeInteger(micros) ? BigInt(micros) : BigInt(seconds) * 1_000_000n + BigInt(frac);
}
