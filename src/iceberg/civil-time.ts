/**
 * Seconds since 1970-01-01T00:00:00Z of a proleptic Gregorian date and time, shared by the two
 * timestamp parsers (`timestamp-text.ts` for strings, `pipeline/record-scan.ts` for bytes) so that both compute
 * the same instant by construction.
 */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Epoch seconds of a date and time of day (UTC), or NaN when it names no real time (month 13,
 * February 30, 24:00, second 60). Exact for every four-digit year.
 */
export function civilSeconds(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return NaN;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) return NaN;
  // Days since 1970-01-01 (the inverse of civil-from-days), without a Date.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146_097 + doe - 719_468;
  return days * 86_400 + hour * 3600 + minute * 60 + second;
}
