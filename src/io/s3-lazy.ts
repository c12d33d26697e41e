/**
 * An S3 FileIO that loads the AWS SDK on first use. `fileIOFor` hands this out for `s3://` and
 * `s3a://` locations, so commands that never touch S3 do not pay for loading the SDK (about
 * 0.3 s), and building one never fails: configuration problems surface on the first call.
 */
import type { FileInfo, FileIO, WriteOptions } from './file-io.js';
import type { DeleteFilesResult, S3FileIO, S3FileIOOptions } from './s3.js';

/** A FileIO with the behaviour of `S3FileIO`, created on the first call. */
export class LazyS3FileIO implements FileIO {
  private loading: Promise<S3FileIO> | undefined;

  /** @param options passed to `new S3FileIO(options)` on first use */
  constructor(private readonly options: S3FileIOOptions = {}) {}

  /** The underlying S3FileIO (loads the SDK). */
  instance(): Promise<S3FileIO> {
    this.loading ??= import('./s3.js').then((m) => new m.S3FileIO(this.options));
    return this.loading;
  }

  async read(location: string): Promise<Uint8Array> {
    return (await this.instance()).read(location);
  }

  async readRange(location: string, offset: number, length: number): Promise<Uint8Array> {
    return (await this.instance()).readRange(location, offset, length);
  }

  async stat(location: string): Promise<FileInfo> {
    return (await this.instance()).stat(location);
  }

  async exists(location: string): Promise<boolean> {
    return (await this.instance()).exists(location);
  }

  async write(location: string, data: Uint8Array, options?: WriteOptions): Promise<void> {
    return (await this.instance()).write(location, data, options);
  }

  async delete(location: string): Promise<void> {
    return (await this.instance()).delete(location);
  }

  /** Batch delete; see `S3FileIO.deleteFiles`. */
  async deleteFiles(locations: Iterable<string>): Promise<DeleteFilesResult> {
    return (await this.instance()).deleteFiles(locations);
  }

  async *list(prefix: string): AsyncIterable<FileInfo> {
    yield* (await this.instance()).list(prefix);
  }

  async localPath(location: string): Promise<string> {
    return (await this.instance()).localPath(location);
  }

  /** Releases the client's sockets, if the SDK was loaded. */
  async close(): Promise<void> {
    if (this.loading) (await this.loading).close();
  }
}

let shared: LazyS3FileIO | undefined;

/**
 * The process-wide S3 FileIO configured from the environment (AWS_REGION, AWS_ENDPOINT_URL_S3, the
 * default credential chain), which `fileIOFor` returns for `s3://` and `s3a://` locations.
 */
export function sharedS3FileIO(): LazyS3FileIO {
  shared ??= new LazyS3FileIO();
  return shared;
}
