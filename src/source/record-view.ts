/**
 * One record of a {@link RecordBlock} seen as a {@link SourceRecord}, without an object per record:
 * a consumer keeps one view and moves it from record to record ({@link RecordView.at}). Fields are
 * read from the block when asked for (a position string only when something reads it), and the
 * payload view is made once per record. A view must not be kept past the next `at`: keep
 * `view.block.record(view.index)` instead.
 */
import type { RecordBlock, SourceRecord } from './source.js';

const EMPTY = new Uint8Array(0);

/** A movable view of one record of a block. */
export class RecordView implements SourceRecord {
  block: RecordBlock | undefined;
  index = 0;
  private dataOf = -1;
  private dataView: Uint8Array = EMPTY;

  /** Points the view at record `i` of `block`; returns the view. */
  at(block: RecordBlock, i: number): this {
    this.block = block;
    this.index = i;
    this.dataOf = -1;
    return this;
  }

  get partitionId(): string {
    return this.block!.partitionId;
  }

  get position(): string {
    return this.block!.position(this.index);
  }

  get data(): Uint8Array {
    if (this.dataOf !== this.index) {
      const b = this.block!;
      this.dataView = b.data.subarray(b.dataStart(this.index), b.dataEnd(this.index));
      this.dataOf = this.index;
    }
    return this.dataView;
  }

  get partitionKey(): string {
    return this.block!.partitionKey(this.index);
  }

  get arrivalTimeMs(): number {
    return this.block!.arrivalTimeMs(this.index);
  }

  get meta(): Readonly<Record<string, string>> {
    return this.block!.meta(this.index);
  }

  /** The record as an object of its own, to keep. */
  detach(): SourceRecord {
    return this.block!.record(this.index);
  }
}
