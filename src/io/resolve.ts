/**
 * Picks the FileIO for a location by its scheme, and re-exports the location helpers
 * (`location.ts`) so callers have one import for "where is this file and how do I reach it".
 *
 * Built in: `file:` URIs and plain paths (LocalFileIO), `memory://` (one process-wide
 * MemoryFileIO, so every table and test in the process sees the same in-memory files), `s3://` and
 * `s3a://` (one process-wide S3 FileIO configured from the environment, loading the AWS SDK on
 * first use). Other schemes are added, and built-ins replaced, with {@link registerFileIO}.
 */
import { UnsupportedError } from '../errors.js';
import type { FileIO } from './file-io.js';
import { LocalFileIO } from './local.js';
import {
  fileUriToPath,
  isLocalLocation,
  joinLocation,
  locationBaseName,
  locationScheme,
  normalizeLocation,
  parentLocation,
  pathToFileUri,
  stripTrailingSlash,
} from './location.js';
import { MemoryFileIO } from './memory.js';
import { sharedS3FileIO } from './s3-lazy.js';

export {
  fileUriToPath,
  isLocalLocation,
  joinLocation,
  locationBaseName,
  locationScheme,
  normalizeLocation,
  parentLocation,
  pathToFileUri,
  stripTrailingSlash,
};

/** Creates (or returns a cached) FileIO able to handle `location`. */
export type FileIOFactory = (location: string) => FileIO;

const localIO = new LocalFileIO();
const memoryIO = new MemoryFileIO();
const factories = new Map<string, FileIOFactory>();

/** The process-wide in-memory FileIO that {@link fileIOFor} returns for `memory://` locations. */
export function sharedMemoryFileIO(): MemoryFileIO {
  return memoryIO;
}

/**
 * Registers the FileIO factory for a scheme (e.g. `s3`, `s3a`), replacing any earlier one.
 * The factory is called on every {@link fileIOFor}; cache inside it if construction is costly.
 */
export function registerFileIO(scheme: string, factory: FileIOFactory): void {
  factories.set(scheme.toLowerCase(), factory);
}

/**
 * The FileIO for a location: the factory registered for the scheme if any, else LocalFileIO for
 * `file:` URIs and plain paths, the shared MemoryFileIO for `memory://`, the shared S3 FileIO for
 * `s3://` and `s3a://`.
 * @throws UnsupportedError `io: no FileIO for scheme 'gs' …` when nothing handles the scheme
 */
export function fileIOFor(location: string): FileIO {
  const scheme = locationScheme(location);
  const factory = factories.get(scheme);
  if (factory) return factory(location);
  if (scheme === 'file') return localIO;
  if (scheme === 'memory') return memoryIO;
  if (scheme === 's3' || scheme === 's3a') return sharedS3FileIO();
  throw new UnsupportedError(`io: no FileIO for scheme '${scheme}' (location ${location})`);
}
