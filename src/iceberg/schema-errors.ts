/**
 * How the schema modules (`schema-*.ts`) word their errors: every message starts with `schema:`,
 * then the document it came from when known, and quotes offending values briefly.
 */
import { ValidationError } from '../errors.js';

/**
 * Throws the schema modules' ValidationError.
 * @param what names the document (e.g. a metadata file path); left out when undefined
 */
export function fail(what: string | undefined, msg: string): never {
  throw new ValidationError(`schema: ${what ? `${what}: ` : ''}${msg}`);
}

/** A value as JSON (bigints as digits), cut to 120 characters, for error messages. */
export function quote(v: unknown): string {
  try {
    const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
    if (s === undefined) return String(v);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return String(v);
  }
}
