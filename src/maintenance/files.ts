/**
 * What table maintenance needs to know about a table's files: the manifests of a snapshot, the
 * entries of a manifest (with inherited snapshot ids and sequence numbers resolved), and a
 * canonical form of locations so that `file:///x`, `file:/x` and `/x` compare equal.
 *
 * Manifests and manifest lists are immutable once written, so a {@link ManifestCache} may keep
 * them for the duration of one operation (expiry reads the same manifest from many snapshots).
 */
import { NotFoundError, ValidationError } from '../errors.js';
import { readManifestList } from '../iceberg/avro/manifest-list.js';
import { inheritSequenceNumbers, readManifest } from '../iceberg/avro/manifest.js';
import { inlineManifestFile, type ManifestEntry, type ManifestFile } from '../iceberg/manifest-types.js';
import type { Snapshot } from '../iceberg/metadata.js';
import type { FileIO } from '../io/file-io.js';
import { fileUriToPath, isLocalLocation } from '../io/location.js';

/**
 * A canonical key for a location: local `file:` URIs and plain paths become the absolute path;
 * other schemes are kept as written. Used only to compare locations, never to open them.
 */
export function locationKey(location: string): string {
  if (isLocalLocation(location)) {
    try {
      return fileUriToPath(location);
    } catch {
      return location;
    }
  }
  return location;
}

/** Reads manifest lists and manifests through a FileIO, each at most once. */
export class ManifestCache {
  private readonly lists = new Map<string, Promise<ManifestFile[]>>();
  private readonly manifests = new Map<string, Promise<ManifestEntry[]>>();

  constructor(
    private readonly io: FileIO,
    /** Names the table in error messages. */
    private readonly what: string,
  ) {}

  /**
   * The manifests of a snapshot (its manifest list, or its inline v1 manifests).
   * @throws NotFoundError naming the snapshot when the manifest list is missing
   */
  snapshotManifests(snapshot: Snapshot): Promise<ManifestFile[]> {
    const list = snapshot['manifest-list'];
    if (!list) {
      if (!snapshot.manifests) {
        throw new ValidationError(`maintenance: ${this.what}: snapshot ${snapshot['snapshot-id']} has neither manifest-list nor manifests`);
      }
      // A v1 snapshot listing its (data) manifests inline: entries with v1 inheritance (all 0).
      return Promise.resolve(snapshot.manifests.map((path) => inlineManifestFile(path, snapshot['snapshot-id'])));
    }
    let p = this.lists.get(list);
    if (!p) {
      p = this.read(list, `manifest list of snapshot ${snapshot['snapshot-id']}`).then((bytes) => readManifestList(bytes, list));
      this.lists.set(list, p);
    }
    return p;
  }

  /** A manifest's entries with inherited snapshot ids and sequence numbers filled in. */
  entries(manifest: ManifestFile): Promise<ManifestEntry[]> {
    const path = manifest.manifest_path;
    let p = this.manifests.get(path);
    if (!p) {
      p = this.read(path, 'manifest').then((bytes) => inheritSequenceNumbers(readManifest(bytes, path).entries, manifest));
      this.manifests.set(path, p);
    }
    return p;
  }

  private async read(location: string, what: string): Promise<Uint8Array> {
    try {
      return await this.io.read(location);
    } catch (e) {
      if (e instanceof NotFoundError) throw new NotFoundError(`maintenance: ${this.what}: ${what} ${location} is missing`, { cause: e });
      throw e;
    }
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** Checks a count option: a positive integer. */
export function checkPositiveInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new ValidationError(`maintenance: ${what} must be a positive integer, got ${v}`);
  return v;
}

/** Checks a duration or size option: a non-negative finite number. */
export function checkNonNegative(v: number, what: string): number {
  if (!Number.isFinite(v) || v < 0) throw new ValidationError(`maintenance: ${what} must be a non-negative number, got ${v}`);
  return v;
}
