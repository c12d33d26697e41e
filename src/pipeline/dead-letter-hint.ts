/**
 * A hint for a dead letter whose text is base64 of JSON: the producer encoded the record before
 * sending it, so the stream holds the base64 text instead of the JSON. The usual cause is the AWS
 * CLI: v2 reads `--data` as base64 (and sends the bytes it decodes), v1 sends `--data` as the text
 * given, so `aws kinesis put-record --data "$(echo '{…}' | base64)"` with v1 stores base64.
 */

/** Longest text looked at: a record of this size is not a mistyped CLI argument anyway. */
const MAX_TEXT = 1 << 20;

/**
 * ` (the record is base64 of JSON: {"a":1}…; …)` when `text` decodes from base64 to a JSON object
 * or array, else `''`, so callers can append it to their reason as it is.
 */
export function base64JsonHint(text: string | undefined): string {
  if (text === undefined || text.length > MAX_TEXT) return '';
  // `base64` wraps its output every 76 characters; whitespace is not part of the encoding.
  const compact = text.replace(/\s+/g, '');
  if (compact.length < 8 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) return '';
  const decoded = Buffer.from(compact, 'base64');
  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(decoded).trim();
  } catch {
    return '';
  }
  if (!json.startsWith('{') && !json.startsWith('[')) return '';
  try {
    JSON.parse(json);
  } catch {
    return '';
  }
  const preview = json.length > 60 ? `${json.slice(0, 60)}…` : json;
  return (
    ` (the record is base64 of JSON: ${preview}; the producer encoded it before sending. ` +
    'AWS CLI v1 sends --data as the text given: pass the JSON itself, or use AWS CLI v2, which decodes --data from base64)'
  );
}
