/**
 * Writes records as NDJSON to a stream, one write per record with no buffering beyond the
 * stream's own (a live gateway's records must appear as they happen). A slow reader cannot make
 * memory grow without bound: past the high-water mark, records are counted and dropped from
 * stdout — stdout is a view, not the system of record.
 */
export interface NdjsonWriter {
  write: (record: unknown) => void;
  /** Records not written because the reader did not keep up. */
  readonly dropped: number;
  close(): Promise<void>;
}

export function createNdjsonWriter(
  stream: NodeJS.WritableStream,
  maxPendingBytes = 8 * 1024 * 1024,
): NdjsonWriter {
  let dropped = 0;
  const pending = () => (stream as { writableLength?: number }).writableLength ?? 0;
  return {
    write(record: unknown): void {
      if (pending() > maxPendingBytes) {
        dropped++;
        return;
      }
      stream.write(JSON.stringify(record) + '\n');
    },
    get dropped() {
      return dropped;
    },
    async close(): Promise<void> {
      if (pending() === 0) return;
      await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
    },
  };
}
