/**
 * A bench consumer that reads Fetch v12 responses (one topic, one partition) as they stream in, without assembling
 * them: it keeps the response prefix up to the records length and the 61-byte header of each batch, and counts the
 * rest. A consumer that copies every response into one buffer costs a second copy per byte and caps the fetch
 * figure on this machine (bench/results/fetch-profile.md); this one leaves the broker as the ceiling.
 */
import { connect, type Connection } from "../src/platform/net.ts";
import { Reader } from "../src/protocol/wire.ts";
import { readResponseHeader } from "../src/protocol/generated/headers.ts";
import { writeFetchRequest } from "../src/protocol/generated/01_fetch.ts";
import { requestFrame } from "./support.ts";

/** What one streamed Fetch response carried. */
export interface StreamedFetch {
  errorCode: number;
  recordBytes: number;
  records: number;
  /** The offset after the last batch (the next fetch offset); the fetch offset when no batch came. */
  nextOffset: bigint;
}

/** Bytes of the response kept before the records: header, one topic name and one partition's fields fit. */
const PREFIX_BYTES = 512;
/** Record batch v2 header length, and the fields read from it. */
const BATCH_HEADER = 61;

/** One connection sending Fetch v12 frames one at a time and resolving each with a {@link StreamedFetch}. */
export class StreamingFetchConnection {
  private conn!: Connection;
  private resolve: ((r: StreamedFetch) => void) | null = null;
  private readonly sizeBuf = new Uint8Array(4);
  private sizeHave = 0;
  private frameLen = -1;
  private at = 0;
  private readonly prefix = new Uint8Array(PREFIX_BYTES);
  private recordsAt = -1;
  private recordsEnd = -1;
  private readonly head = new Uint8Array(BATCH_HEADER);
  private readonly headView = new DataView(this.head.buffer);
  private batchAt = -1;
  private result: StreamedFetch = { errorCode: 0, recordBytes: 0, records: 0, nextOffset: 0n };

  /** Connects to host:port. */
  static async connect(host: string, port: number): Promise<StreamingFetchConnection> {
    const c = new StreamingFetchConnection();
    await connect(host, port, (conn) => {
      c.conn = conn;
      return { onData: (b) => c.onData(b), onDrain: () => {}, onClose: () => {} };
    });
    return c;
  }

  /** Sends one Fetch v12 frame (size prefix included) for `fetchOffset` and resolves when its response has come. */
  fetch(frame: Uint8Array, fetchOffset: bigint): Promise<StreamedFetch> {
    if (this.resolve !== null) throw new Error("one fetch at a time");
    this.result = { errorCode: 0, recordBytes: 0, records: 0, nextOffset: fetchOffset };
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.conn.write([frame]);
    });
  }

  /** Closes the socket. */
  close(): void {
    this.conn.close();
  }

  private onData(b: Uint8Array): void {
    let i = 0;
    while (i < b.length) {
      if (this.frameLen < 0) {
        while (this.sizeHave < 4 && i < b.length) this.sizeBuf[this.sizeHave++] = b[i++];
        if (this.sizeHave < 4) return;
        this.frameLen = new DataView(this.sizeBuf.buffer).getInt32(0);
        this.at = 0;
        this.recordsAt = -1;
        continue;
      }
      const n = Math.min(this.frameLen - this.at, b.length - i);
      this.take(b, i, n);
      i += n;
      this.at += n;
      if (this.at === this.frameLen) this.finishFrame();
    }
  }

  /** Keeps what the prefix and the batch headers need from `n` bytes of `b` at `i` (frame position `this.at`). */
  private take(b: Uint8Array, i: number, n: number): void {
    const end = this.at + n;
    if (this.recordsAt < 0) {
      const keep = Math.min(end, PREFIX_BYTES) - this.at;
      if (keep > 0) this.prefix.set(b.subarray(i, i + keep), this.at);
      if (end < Math.min(PREFIX_BYTES, this.frameLen)) return;
      this.parsePrefix();
      // The first batch header may start in bytes an earlier piece brought: those are in the prefix.
      if (this.batchAt >= 0 && this.batchAt < this.at) this.head.set(this.prefix.subarray(this.batchAt, Math.min(this.batchAt + BATCH_HEADER, this.at)));
    }
    // Batch headers: copy the bytes of [batchAt, batchAt + 61) this piece holds; a whole header moves batchAt on.
    while (this.batchAt >= 0 && this.batchAt < this.recordsEnd && this.batchAt < end) {
      const from = Math.max(this.batchAt, this.at);
      const to = Math.min(this.batchAt + BATCH_HEADER, end);
      if (to > from) this.head.set(b.subarray(i + from - this.at, i + to - this.at), from - this.batchAt);
      if (to < this.batchAt + BATCH_HEADER) return;
      const size = this.headView.getInt32(8) + 12;
      if (this.batchAt + size > this.recordsEnd) return; // a partial last batch: not counted, as a consumer would
      const base = this.headView.getBigInt64(0);
      this.result.nextOffset = base + BigInt(this.headView.getInt32(23)) + 1n;
      this.result.records += this.headView.getInt32(57);
      this.result.recordBytes += size;
      this.batchAt += size;
    }
  }

  private parsePrefix(): void {
    const r = new Reader(this.prefix, 0, Math.min(PREFIX_BYTES, this.frameLen));
    readResponseHeader(r, 1);
    r.int32(); // throttle_time_ms
    this.result.errorCode = r.int16();
    r.int32(); // session_id
    if (r.compactArrayLength(false) !== 1) throw new Error("one topic expected");
    r.compactString(false);
    if (r.compactArrayLength(false) !== 1) throw new Error("one partition expected");
    r.int32(); // partition_index
    const err = r.int16();
    if (err !== 0) this.result.errorCode = err;
    r.skip(24); // high watermark, last stable offset, log start offset
    if (r.compactArrayLength(true) > 0) throw new Error("aborted transactions not expected");
    r.int32(); // preferred_read_replica
    const len = r.uvarint() - 1;
    const at = Math.min(PREFIX_BYTES, this.frameLen) - r.remaining();
    this.recordsAt = at;
    this.recordsEnd = len > 0 ? at + len : at;
    this.batchAt = len > 0 ? at : -1;
  }

  private finishFrame(): void {
    this.frameLen = -1;
    this.sizeHave = 0;
    const resolve = this.resolve;
    this.resolve = null;
    resolve?.(this.result);
  }
}

/** Bytes one partition may bring in one response of {@link fetchPartitionToEnd}. */
const PARTITION_MAX_BYTES = 16 << 20;

/**
 * Reads `topic`-`partition` from offset 0 to its end (Fetch v12, no waiting, one partition per request) over one
 * streaming connection; the record bytes and records read. Throws on a partition error.
 */
export async function fetchPartitionToEnd(host: string, port: number, topic: string, partition: number): Promise<{ bytes: number; records: number }> {
  const c = await StreamingFetchConnection.connect(host, port);
  let offset = 0n;
  let bytes = 0;
  let records = 0;
  try {
    for (;;) {
      const f = requestFrame(1, 12, 2, (w) =>
        writeFetchRequest(w, 12, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 64 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: PARTITION_MAX_BYTES }] }],
          forgottenTopicsData: [],
          rackId: "",
        }),
      );
      const got = await c.fetch(f, offset);
      if (got.errorCode !== 0) throw new Error(`fetch from ${topic}-${partition} failed with error ${got.errorCode}`);
      if (got.recordBytes === 0) return { bytes, records };
      bytes += got.recordBytes;
      records += got.records;
      offset = got.nextOffset;
    }
  } finally {
    c.close();
  }
}
