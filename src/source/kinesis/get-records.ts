/**
 * GetRecords with a lean response parser. The SDK's schema-driven deserializer (base64 checked
 * by a regex, every member walked through its schema) was the largest item of a Kinesis read's
 * profile; through the client, on a canned 1,000-record response of 150-byte events, it cost
 * 3.8–5.6 µs of CPU per record against 3.0–3.65 µs for `JSON.parse`, Node's native base64 decoder
 * and a Date (bench/notes.md, item 20).
 *
 * Only a successful JSON response (HTTP 200, a JSON content type) is parsed here; everything else
 * (errors, throttling, retries, signing, endpoints, credentials, another protocol) stays with the
 * SDK. Two middlewares on the command: the inner one, next to the HTTP handler, takes a 200
 * response's body and parses it, handing the SDK's deserializer an empty object instead; the
 * outer one puts the parsed records into the output. The output has the SDK's shape (`Data` as a
 * Uint8Array, `ApproximateArrivalTimestamp` as a Date, absent members absent), so callers cannot
 * tell the difference (test/source/kinesis-get-records.unit.test.ts compares both on the same
 * responses). With `lean` (what the shard readers use) the body is read as bytes by
 * `records-page.ts` instead, into one `RecordsPage` (no string, no object per record);
 * `parseGetRecordsBody` stays the reference its differential test compares it with. The shard
 * readers of a `kinesisClientFromEnv` client send GetRecords without the SDK
 * (`get-records-http.ts`), which hands every response but a 200 JSON to this command.
 */
import { GetRecordsCommand, type GetRecordsCommandInput, type GetRecordsCommandOutput, type _Record } from '@aws-sdk/client-kinesis';
import { FloeError } from '../../errors.js';
import { parseRecordsPage, type RecordsPage } from './records-page.js';

/** The raw response, as the HTTP handler returns it. */
interface RawResponse {
  statusCode?: number;
  headers?: Record<string, string>;
  body?: unknown;
}

const EMPTY_JSON = new TextEncoder().encode('{}');

/** Whether the response says it is JSON (`application/x-amz-json-1.1`), headers in any case. */
export function isJson(headers: Record<string, string> | undefined): boolean {
  if (!headers) return false;
  for (const k in headers) if (k.toLowerCase() === 'content-type') return /json/i.test(headers[k] ?? '');
  return false;
}

/**
 * One scratch buffer for joining a response's chunks, reused by every call of the process: a
 * body is joined, decoded to a string and parsed synchronously, so no two calls use it at once.
 * It grows to the largest body seen, up to {@link SCRATCH_MAX}; larger bodies get their own.
 */
let scratch: Buffer | undefined;
/** Bodies up to 16 MiB reuse the scratch buffer (a 10 MB GetRecords answer is about 14 MB of JSON). */
const SCRATCH_MAX = 16 * 1024 * 1024;

/**
 * The bytes of a response body (a Node stream, a web stream, bytes or a string). A body read
 * from a stream in several chunks is joined into the shared scratch buffer: the returned bytes
 * are valid only until the next call, and must be consumed before any `await`.
 */
async function bodyBytes(body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
      const c = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      chunks.push(c);
      total += c.byteLength;
    }
    return joinChunks(chunks, total, true);
  }
  throw new FloeError('SOURCE_READ_FAILED', 'kinesis: GetRecords response body of an unknown kind');
}

/**
 * A body's chunks as one byte range. With `scratch` a body of several chunks is joined into the
 * shared scratch buffer (see {@link scratch}: valid only until the next call, to be consumed
 * before any `await`); without, into its own buffer.
 */
export function joinChunks(chunks: Uint8Array[], total: number, useScratch: boolean): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let out: Buffer;
  if (useScratch && total <= SCRATCH_MAX) {
    if (scratch === undefined || scratch.byteLength < total) scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(total, 64 * 1024, (scratch?.byteLength ?? 0) * 2)));
    out = scratch;
  } else {
    out = Buffer.allocUnsafe(total);
  }
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  chunks.length = 0; // the chunks can go before the parse allocates
  return out.subarray(0, total);
}

/** The string members of a record (checked once per record; a constant, not a literal per record). */
const STRING_MEMBERS = ['Data', 'PartitionKey', 'SequenceNumber', 'EncryptionType'] as const;

interface RawRecord {
  Data?: unknown;
  PartitionKey?: unknown;
  SequenceNumber?: unknown;
  ApproximateArrivalTimestamp?: unknown;
  EncryptionType?: unknown;
}

/**
 * A GetRecords response body (JSON) in the SDK's output shape, without `$metadata`.
 * @throws FloeError when the body is not the JSON of a GetRecords response
 */
export function parseGetRecordsBody(bytes: Uint8Array): Omit<GetRecordsCommandOutput, '$metadata'> {
  let doc: { Records?: unknown; NextShardIterator?: unknown; MillisBehindLatest?: unknown; ChildShards?: unknown };
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as typeof doc;
  } catch (e) {
    throw new FloeError('SOURCE_READ_FAILED', `kinesis: GetRecords response is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (doc === null || typeof doc !== 'object' || (doc.Records !== undefined && !Array.isArray(doc.Records))) {
    throw new FloeError('SOURCE_READ_FAILED', 'kinesis: GetRecords response without a Records list');
  }
  const raw = (doc.Records ?? []) as RawRecord[];
  const records: _Record[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i]!;
    if (r === null || typeof r !== 'object') throw new FloeError('SOURCE_READ_FAILED', `kinesis: GetRecords response record ${i} is not an object`);
    // Members as the SDK reads them: each one present or absent; a wrong type is an error.
    for (const k of STRING_MEMBERS) {
      if (r[k] !== undefined && r[k] !== null && typeof r[k] !== 'string') {
        throw new FloeError('SOURCE_READ_FAILED', `kinesis: GetRecords response record ${i}: ${k} is not a string`);
      }
    }
    const out = {} as _Record;
    if (typeof r.SequenceNumber === 'string') out.SequenceNumber = r.SequenceNumber;
    if (typeof r.Data === 'string') {
      // Node's native decoder, seen as a plain Uint8Array (the SDK's type, not a Buffer).
      const data = Buffer.from(r.Data, 'base64');
      out.Data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    if (typeof r.PartitionKey === 'string') out.PartitionKey = r.PartitionKey;
    // Epoch seconds with a fraction, as the SDK reads it.
    if (typeof r.ApproximateArrivalTimestamp === 'number') out.ApproximateArrivalTimestamp = new Date(Math.round(r.ApproximateArrivalTimestamp * 1000));
    if (typeof r.EncryptionType === 'string') out.EncryptionType = r.EncryptionType as _Record['EncryptionType'];
    records[i] = out;
  }
  // The SDK leaves Records out when the body has none (its type says it is always there).
  const output = (doc.Records === undefined ? {} : { Records: records }) as Omit<GetRecordsCommandOutput, '$metadata'>;
  if (typeof doc.NextShardIterator === 'string') output.NextShardIterator = doc.NextShardIterator;
  if (typeof doc.MillisBehindLatest === 'number') output.MillisBehindLatest = doc.MillisBehindLatest;
  if (Array.isArray(doc.ChildShards)) {
    // Known members only, as the SDK's deserializer keeps them.
    output.ChildShards = (doc.ChildShards as { ShardId?: string; ParentShards?: string[]; HashKeyRange?: { StartingHashKey?: string; EndingHashKey?: string } }[]).map((c) => ({
      ShardId: c.ShardId,
      ParentShards: c.ParentShards,
      HashKeyRange: c.HashKeyRange && { StartingHashKey: c.HashKeyRange.StartingHashKey, EndingHashKey: c.HashKeyRange.EndingHashKey },
    })) as GetRecordsCommandOutput['ChildShards'];
  }
  return output;
}

/** The output members of a parsed page (the records stay in the page). */
export function pageOutput(page: RecordsPage): Omit<GetRecordsPageOutput, '$metadata'> {
  const output = {} as Omit<GetRecordsPageOutput, '$metadata'>;
  output.floePage = page;
  if (page.nextShardIterator !== undefined) output.NextShardIterator = page.nextShardIterator;
  if (page.millisBehindLatest !== undefined) output.MillisBehindLatest = page.millisBehindLatest;
  if (page.childShards !== undefined) output.ChildShards = page.childShards as GetRecordsCommandOutput['ChildShards'];
  return output;
}

/** A GetRecords output with the records of a 200 JSON response as a {@link RecordsPage}. */
export type GetRecordsPageOutput = GetRecordsCommandOutput & { floePage?: RecordsPage };

/**
 * A GetRecords command whose successful response is parsed by {@link parseGetRecordsBody}, or with
 * `lean`, by {@link parseRecordsPage} into `floePage` (the output's `Records` then absent;
 * `NextShardIterator`, `MillisBehindLatest` and `ChildShards` as usual). `onBody`, when given, is
 * told the size of each JSON body parsed (what the call held in memory). `native` false: bodies
 * read by the JavaScript parser only (`parseRecordsPage`).
 */
export function getRecordsCommand(input: GetRecordsCommandInput, onBody?: (bytes: number) => void, lean = false, native = true): GetRecordsCommand {
  const command = new GetRecordsCommand(input);
  // The deserialize step's handler, as far as these middlewares use it.
  type Next = (args: { input: object; request?: unknown }) => Promise<{ response: unknown; output: object }>;
  type Middleware = Parameters<typeof command.middlewareStack.addRelativeTo>[0];
  let parsed: Omit<GetRecordsPageOutput, '$metadata'> | undefined;
  const body = (next: Next) => async (args: Parameters<Next>[0]) => {
    parsed = undefined;
    const result = await next(args);
    const response = result.response as RawResponse;
    // A JSON success only (the protocol this SDK version speaks); anything else stays the SDK's.
    if (response.statusCode === 200 && isJson(response.headers)) {
      const bytes = await bodyBytes(response.body);
      // No await from here until the parse is done: `bytes` may be the shared scratch buffer.
      onBody?.(bytes.byteLength);
      parsed = lean ? pageOutput(parseRecordsPage(bytes, native)) : parseGetRecordsBody(bytes);
      // The SDK's deserializer reads an empty object; the records are put back outside it.
      response.body = EMPTY_JSON;
    }
    return result;
  };
  const output = (next: Next) => async (args: Parameters<Next>[0]) => {
    const result = await next(args);
    if (parsed !== undefined) {
      result.output = { ...result.output, ...parsed };
      parsed = undefined;
    }
    return result;
  };
  command.middlewareStack.addRelativeTo(body as unknown as Middleware, { name: 'floeGetRecordsBody', relation: 'after', toMiddleware: 'deserializerMiddleware' });
  command.middlewareStack.addRelativeTo(output as unknown as Middleware, { name: 'floeGetRecordsOutput', relation: 'before', toMiddleware: 'deserializerMiddleware' });
  return command;
}
