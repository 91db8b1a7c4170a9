/**
 * Wire primitives for the Kafka protocol: a bounds-checked zero-copy {@link Reader} and a chunked,
 * reusable {@link Writer}. Generated codecs in `./generated/` are written against these two classes only.
 *
 * Limits (TigerStyle): every length read from the wire is checked against the bytes that remain, so a
 * hostile length can never make the reader allocate or loop beyond the frame it was given.
 */

/** Thrown for any malformed input; the broker turns it into a closed connection. */
export class MalformedFrameError extends Error {
  /** Byte offset inside the frame where decoding failed. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = "MalformedFrameError";
    this.offset = offset;
  }
}

const textDecoder = new TextDecoder("utf-8", { fatal: false });
const textEncoder = new TextEncoder();

/** A tagged field that the schema does not know; kept as a view so it can be re-emitted unchanged. */
export interface UnknownTag {
  /** The tag number. */
  tag: number;
  /** The raw tag payload (a view into the decoded frame). */
  data: Uint8Array;
}

/** The all-zero UUID that Kafka uses instead of null. */
export const ZERO_UUID: Uint8Array = new Uint8Array(16);

/** Reads Kafka primitives from a byte view without copying `bytes`/`records` payloads. */
export class Reader {
  /** The underlying bytes. */
  buf: Uint8Array;
  /** Current read position. */
  pos: number;
  /** End of readable region (exclusive). */
  end: number;
  private view: DataView;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Bytes left to read. */
  remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes can be read. */
  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new MalformedFrameError(`need ${n} bytes, ${this.end - this.pos} left`, this.pos);
    }
  }

  /** Reads a signed 8-bit integer. */
  int8(): number {
    this.need(1);
    return this.view.getInt8(this.pos++);
  }
  /** Reads a boolean (any non-zero byte is true). */
  bool(): boolean {
    return this.int8() !== 0;
  }
  /** Reads a signed big-endian 16-bit integer. */
  int16(): number {
    this.need(2);
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }
  /** Reads an unsigned big-endian 16-bit integer. */
  uint16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  /** Reads a signed big-endian 32-bit integer. */
  int32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }
  /** Reads an unsigned big-endian 32-bit integer. */
  uint32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  /** Reads a signed big-endian 64-bit integer. */
  int64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }
  /** Reads a big-endian IEEE-754 double. */
  float64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }
  /** Reads a 16-byte UUID as a view. */
  uuid(): Uint8Array {
    this.need(16);
    const v = this.buf.subarray(this.pos, this.pos + 16);
    this.pos += 16;
    return v;
  }

  /** Reads an unsigned LEB128 varint of at most 5 bytes (32 bits). */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw new MalformedFrameError("truncated varint", this.pos);
      const b = this.buf[this.pos++];
      if (i === 4 && (b & 0xf0) !== 0) throw new MalformedFrameError("varint over 32 bits", this.pos - 1);
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw new MalformedFrameError("varint longer than 5 bytes", this.pos);
  }
  /** Reads a zigzag-encoded signed varint (32-bit). */
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }
  /** Reads an unsigned LEB128 varlong of at most 10 bytes. */
  uvarlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new MalformedFrameError("truncated varlong", this.pos);
      const b = this.buf[this.pos++];
      if (i === 9 && (b & 0xfe) !== 0) throw new MalformedFrameError("varlong over 64 bits", this.pos - 1);
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new MalformedFrameError("varlong longer than 10 bytes", this.pos);
  }
  /** Reads a zigzag-encoded signed varlong (64-bit). */
  varlong(): bigint {
    const u = this.uvarlong();
    return (u >> 1n) ^ -(u & 1n);
  }

  /** Reads `n` UTF-8 bytes as a string. */
  utf8(n: number): string {
    this.need(n);
    const s = n === 0 ? "" : textDecoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  /** Returns a view of the next `n` bytes. */
  view_(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Classic string: int16 length, -1 = null (rejected unless nullable). */
  string(nullable: boolean): string | null {
    const n = this.int16();
    if (n < 0) {
      if (n === -1 && nullable) return null;
      throw new MalformedFrameError(`invalid string length ${n}`, this.pos - 2);
    }
    return this.utf8(n);
  }
  /** Compact string: uvarint length+1, 0 = null. */
  compactString(nullable: boolean): string | null {
    const at = this.pos;
    const n = this.uvarint();
    if (n === 0) {
      if (nullable) return null;
      throw new MalformedFrameError("null compact string in non-nullable field", at);
    }
    return this.utf8(n - 1);
  }
  /** Classic bytes: int32 length, -1 = null; returns a view. */
  bytes(nullable: boolean): Uint8Array | null {
    const n = this.int32();
    if (n < 0) {
      if (n === -1 && nullable) return null;
      throw new MalformedFrameError(`invalid bytes length ${n}`, this.pos - 4);
    }
    return this.view_(n);
  }
  /** Compact bytes: uvarint length+1, 0 = null; returns a view. */
  compactBytes(nullable: boolean): Uint8Array | null {
    const at = this.pos;
    const n = this.uvarint();
    if (n === 0) {
      if (nullable) return null;
      throw new MalformedFrameError("null compact bytes in non-nullable field", at);
    }
    return this.view_(n - 1);
  }
  /** Classic array length: int32, -1 = null. Returns -1 for null. Bounded by remaining bytes. */
  arrayLength(nullable: boolean): number {
    const at = this.pos;
    const n = this.int32();
    if (n < 0) {
      if (n === -1 && nullable) return -1;
      throw new MalformedFrameError(`invalid array length ${n}`, at);
    }
    if (n > this.remaining()) throw new MalformedFrameError(`array length ${n} exceeds frame`, at);
    return n;
  }
  /** Compact array length: uvarint count+1, 0 = null. Returns -1 for null. Bounded by remaining bytes. */
  compactArrayLength(nullable: boolean): number {
    const at = this.pos;
    const n = this.uvarint();
    if (n === 0) {
      if (nullable) return -1;
      throw new MalformedFrameError("null compact array in non-nullable field", at);
    }
    if (n - 1 > this.remaining()) throw new MalformedFrameError(`array length ${n - 1} exceeds frame`, at);
    return n - 1;
  }
  /** Nullable struct marker: int8 -1 = null, 1 = present. */
  structPresent(): boolean {
    const at = this.pos;
    const m = this.int8();
    if (m === -1) return false;
    if (m === 1) return true;
    throw new MalformedFrameError(`invalid nullable struct marker ${m}`, at);
  }
  /** Skips `n` bytes. */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  /**
   * Reads a tagged-field section in which the schema knows no tag: every field is kept as an {@link UnknownTag}
   * view. Returns undefined for an empty section. Like Kafka's TaggedFields schema, tags must strictly ascend;
   * a repeated or out-of-order tag is malformed.
   */
  unknownTagSection(): UnknownTag[] | undefined {
    const count = this.uvarint();
    if (count === 0) return undefined;
    // Each tagged field takes at least two bytes, so a larger count cannot fit in the frame.
    if (count > this.remaining()) throw new MalformedFrameError(`tagged field count ${count} exceeds frame`, this.pos);
    const tags: UnknownTag[] = [];
    let lastTag = -1;
    for (let i = 0; i < count; i++) {
      const at = this.pos;
      const tag = this.uvarint();
      if (tag <= lastTag) throw new MalformedFrameError(`tag ${tag} out of order after ${lastTag}`, at);
      lastTag = tag;
      const size = this.uvarint();
      tags.push({ tag, data: this.view_(size) });
    }
    return tags;
  }
  /**
   * Limits reading to the next `n` bytes (e.g. one tagged field's payload). Returns the previous end, to be
   * passed to {@link Reader.endSlice}.
   */
  beginSlice(n: number): number {
    this.need(n);
    const outerEnd = this.end;
    this.end = this.pos + n;
    return outerEnd;
  }
  /** Ends a slice from {@link Reader.beginSlice}; throws unless it was consumed exactly. */
  endSlice(outerEnd: number): void {
    if (this.pos !== this.end) {
      throw new MalformedFrameError(`${this.end - this.pos} unread bytes in sized field`, this.pos);
    }
    if (outerEnd < this.end) throw new MalformedFrameError("slice ends past its enclosing frame", this.pos);
    this.end = outerEnd;
  }
}

/** Minimum size of a chunk that {@link Writer.records} emits by reference instead of copying. */
export const WRITER_ZERO_COPY_THRESHOLD = 4096;

/** Maximum nesting of {@link Writer.sizeBegin} sections (tagged fields inside tagged structs). */
export const WRITER_MAX_SIZED_NESTING = 32;

/** Bytes an unsigned varint of `v` (0 <= v < 2^32) takes. */
export function uvarintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

/** Writes `v` as an unsigned LEB128 varint of exactly `n` bytes (its {@link uvarintSize}) at `at` of `buf`. */
function putUvarint(buf: Uint8Array, at: number, v: number, n: number): void {
  for (let k = 0; k < n - 1; k++) {
    buf[at + k] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  if (v >= 0x80) throw new RangeError(`putUvarint: ${n} bytes cannot hold the value`);
  buf[at + n - 1] = v;
}

/**
 * Writes Kafka primitives into a reusable buffer. Large `records`/`bytes` payloads are not copied: the writer
 * closes the current chunk and appends the caller's view, so a Fetch response can carry file views straight to
 * the socket. {@link Writer.finish} returns the chunks; {@link Writer.finishContiguous} copies into one buffer.
 */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  /** Write position inside the current scratch buffer. */
  pos = 0;
  /** Start of the current (not yet emitted) chunk inside the scratch buffer. */
  private chunkStart = 0;
  private chunks: Uint8Array[] = [];
  private chunkedLength = 0;
  /**
   * When true, generated encoders silently drop a non-ignorable field whose value the chosen version cannot carry,
   * instead of throwing. The broker sets it for responses, so one handler setting a newer field never costs an old
   * client its connection; clients and tests keep the strict default.
   */
  dropUnsupportedFields = false;
  /** Open {@link sizeBegin} sections: length(), chunk count and chunked length at their start. */
  private sizedDepth = 0;
  private readonly sizedLength: number[] = [];
  private readonly sizedChunks: number[] = [];
  private readonly sizedChunked: number[] = [];

  constructor(initialCapacity = 64 * 1024) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** Resets the writer for a new message, keeping its buffer. Earlier results must no longer be in use. */
  reset(): this {
    this.pos = 0;
    this.chunkStart = 0;
    this.chunks.length = 0;
    this.chunkedLength = 0;
    this.sizedDepth = 0;
    return this;
  }

  /**
   * Starts a new message without disturbing bytes handed out earlier: writing continues after them in the same
   * scratch buffer (a bump allocator), and a fresh buffer is taken when less than `minFree` bytes remain. Use this
   * instead of {@link Writer.reset} when earlier results may still be queued on a socket. A message left unfinished
   * (its encoder threw) is abandoned, sized sections it left open included.
   */
  beginMessage(minFree = 16 * 1024): this {
    this.chunks = [];
    this.chunkedLength = 0;
    this.sizedDepth = 0;
    if (this.buf.length - this.pos < minFree) {
      this.buf = new Uint8Array(Math.max(this.buf.length, minFree * 4));
      this.view = new DataView(this.buf.buffer);
      this.pos = 0;
    }
    this.chunkStart = this.pos;
    return this;
  }

  /**
   * Writes a big-endian int32 over 4 bytes {@link Writer.reserve} kept, `at` bytes from the message's start. The
   * bytes are found where they are now: still in the scratch buffer (which may have grown into a new one since) or
   * in a chunk already emitted. Patch before closing a {@link Writer.sizeBegin} section that began before `at`.
   */
  patchInt32(at: number, v: number): void {
    let off = at - this.chunkedLength;
    if (off >= 0) {
      if (off + 4 > this.pos - this.chunkStart) throw new RangeError(`patchInt32 at ${at}: past the ${this.length()} bytes written`);
      this.view.setInt32(this.chunkStart + off, v);
      return;
    }
    off = at;
    for (const c of this.chunks) {
      if (off < c.length) {
        if (off + 4 > c.length) throw new RangeError(`patchInt32 at ${at}: the 4 bytes straddle two chunks`);
        new DataView(c.buffer, c.byteOffset + off, 4).setInt32(0, v);
        return;
      }
      off -= c.length;
    }
    throw new RangeError(`patchInt32 at ${at}: past the ${this.length()} bytes written`);
  }

  /** Total bytes written so far (including referenced chunks). */
  length(): number {
    return this.chunkedLength + (this.pos - this.chunkStart);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Grow to a new buffer; emitted chunks keep referencing the old one, which stays valid.
    const pending = this.buf.subarray(this.chunkStart, this.pos);
    const next = new Uint8Array(Math.max(this.buf.length * 2, pending.length + n + 1024));
    next.set(pending, 0);
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.pos = pending.length;
    this.chunkStart = 0;
  }

  /** Writes a signed 8-bit integer. */
  int8(v: number): void {
    this.ensure(1);
    this.view.setInt8(this.pos++, v);
  }
  /** Writes a boolean. */
  bool(v: boolean): void {
    this.int8(v ? 1 : 0);
  }
  /** Writes a big-endian 16-bit integer. */
  int16(v: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
  }
  /** Writes an unsigned big-endian 16-bit integer. */
  uint16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }
  /** Writes a big-endian 32-bit integer. */
  int32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }
  /** Writes an unsigned big-endian 32-bit integer. */
  uint32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }
  /** Writes a big-endian 64-bit integer. */
  int64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, v);
    this.pos += 8;
  }
  /** Writes a big-endian IEEE-754 double. */
  float64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }
  /** Writes a 16-byte UUID. */
  uuid(v: Uint8Array): void {
    if (v.length !== 16) throw new RangeError(`uuid must be 16 bytes, got ${v.length}`);
    this.raw(v);
  }
  /** Writes an unsigned LEB128 varint (32-bit). */
  uvarint(v: number): void {
    this.ensure(5);
    v >>>= 0;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }
  /** Writes a zigzag-encoded signed varint (32-bit). */
  varint(v: number): void {
    this.uvarint((v << 1) ^ (v >> 31));
  }
  /** Writes an unsigned LEB128 varlong (64-bit). */
  uvarlong(v: bigint): void {
    this.ensure(10);
    v = BigInt.asUintN(64, v);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }
  /** Writes a zigzag-encoded signed varlong (64-bit). */
  varlong(v: bigint): void {
    this.uvarlong(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
  }
  /** Copies raw bytes into the buffer. */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }
  /** Appends bytes, by reference when at least {@link WRITER_ZERO_COPY_THRESHOLD} long. */
  payload(v: Uint8Array): void {
    if (v.length < WRITER_ZERO_COPY_THRESHOLD) {
      this.raw(v);
      return;
    }
    this.flushChunk();
    this.chunks.push(v);
    this.chunkedLength += v.length;
  }
  private flushChunk(): void {
    if (this.pos > this.chunkStart) {
      const c = this.buf.subarray(this.chunkStart, this.pos);
      this.chunks.push(c);
      this.chunkedLength += c.length;
      this.chunkStart = this.pos;
    }
  }
  /** Writes a UTF-8 string body (no length). Returns the byte count. */
  private utf8Body(s: string, lengthPrefix: (n: number) => void): void {
    // Encode straight into the buffer: reserve worst case, then write the prefix before the body.
    const max = s.length * 3;
    if (max < 128 && isAscii(s)) {
      lengthPrefix(s.length);
      this.ensure(s.length);
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
      return;
    }
    const bytes = textEncoder.encode(s);
    lengthPrefix(bytes.length);
    this.raw(bytes);
  }
  /** Classic string (int16 length, -1 = null). */
  string(s: string | null): void {
    if (s === null) return this.int16(-1);
    this.utf8Body(s, (n) => {
      if (n > 0x7fff) throw new RangeError(`string too long: ${n} bytes`);
      this.int16(n);
    });
  }
  /** Compact string (uvarint length+1, 0 = null). */
  compactString(s: string | null): void {
    if (s === null) return this.uvarint(0);
    this.utf8Body(s, (n) => this.uvarint(n + 1));
  }
  /** Classic bytes (int32 length, -1 = null). */
  bytes(b: Uint8Array | null): void {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    this.payload(b);
  }
  /** Compact bytes (uvarint length+1, 0 = null). */
  compactBytes(b: Uint8Array | null): void {
    if (b === null) return this.uvarint(0);
    this.uvarint(b.length + 1);
    this.payload(b);
  }
  /** Classic records: like bytes, but the value may be several views written back to back. */
  records(r: RecordsValue): void {
    if (r === null) return this.int32(-1);
    if (r instanceof Uint8Array) return this.bytes(r);
    this.int32(recordsLength(r));
    for (const c of r) this.payload(c);
  }
  /** Compact records. */
  compactRecords(r: RecordsValue): void {
    if (r === null) return this.uvarint(0);
    if (r instanceof Uint8Array) return this.compactBytes(r);
    this.uvarint(recordsLength(r) + 1);
    for (const c of r) this.payload(c);
  }
  /**
   * Starts a section whose byte size {@link Writer.sizeEnd} will insert in front of it as an unsigned varint
   * (a tagged field's payload). Sections nest up to {@link WRITER_MAX_SIZED_NESTING} deep.
   */
  sizeBegin(): void {
    const d = this.sizedDepth;
    if (d >= WRITER_MAX_SIZED_NESTING) throw new RangeError("sized sections nested too deeply");
    this.sizedLength[d] = this.length();
    this.sizedChunks[d] = this.chunks.length;
    this.sizedChunked[d] = this.chunkedLength;
    this.sizedDepth = d + 1;
  }
  /** Ends the innermost {@link Writer.sizeBegin} section, inserting its size before it. Returns the size. */
  sizeEnd(): number {
    if (this.sizedDepth === 0) throw new RangeError("sizeEnd without sizeBegin");
    const d = --this.sizedDepth;
    const size = this.length() - this.sizedLength[d];
    const prefix = uvarintSize(size);
    if (this.chunks.length === this.sizedChunks[d]) {
      // The section is still in the scratch buffer: shift it right and write the size in front of it (directly:
      // uvarint's own room check could grow the buffer and move the section).
      this.ensure(prefix);
      const start = this.pos - size;
      this.buf.copyWithin(start + prefix, start, this.pos);
      putUvarint(this.buf, start, size, prefix);
      this.pos += prefix;
      return size;
    }
    // A referenced chunk was emitted inside the section: split the chunk where the section starts and
    // insert the size as a chunk of its own.
    const i = this.sizedChunks[d];
    const first = this.chunks[i];
    const cut = this.sizedLength[d] - this.sizedChunked[d];
    if (cut < 0 || cut > first.length) throw new Error("sizeEnd: section start outside its chunk");
    const sizeBytes = new Uint8Array(prefix);
    putUvarint(sizeBytes, 0, size, prefix);
    const parts: Uint8Array[] = [];
    if (cut > 0) parts.push(first.subarray(0, cut));
    parts.push(sizeBytes);
    if (cut < first.length) parts.push(first.subarray(cut));
    this.chunks.splice(i, 1, ...parts);
    this.chunkedLength += prefix;
    return size;
  }
  /**
   * Writes the unknown tagged fields `tags[from..]` whose tag is below `limit` (as tag, size, payload) and
   * returns the index of the first one not written. `tags` must ascend; a tag equal to `limit` (a tag the schema
   * knows in this version) or out of order throws RangeError. Pass a limit of 2^32 to write the rest.
   */
  unknownTags(tags: readonly UnknownTag[] | undefined, from: number, limit: number): number {
    if (tags === undefined) return 0;
    let i = from;
    for (; i < tags.length; i++) {
      const t = tags[i];
      if (t.tag >= limit) {
        if (t.tag === limit) throw new RangeError(`unknown tag ${t.tag} collides with a known tagged field`);
        break;
      }
      if (i > 0 && tags[i - 1].tag >= t.tag) throw new RangeError(`unknown tags not ascending at tag ${t.tag}`);
      this.uvarint(t.tag);
      this.uvarint(t.data.length);
      this.payload(t.data);
    }
    return i;
  }

  /** Writes a tagged-field section holding only `tags` (unknown fields, ascending), or an empty one. */
  unknownTagSection(tags: readonly UnknownTag[] | undefined): void {
    if (tags === undefined || tags.length === 0) {
      this.uvarint(0);
      return;
    }
    this.uvarint(tags.length);
    this.unknownTags(tags, 0, 0x100000000);
  }

  /**
   * Reserves `n` bytes to be patched later with {@link Writer.patchInt32}; returns how far from the message's
   * start they are (not a position in the scratch buffer, which moves when the buffer grows).
   */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.length();
    this.pos += n;
    return at;
  }

  /** Returns the written message as chunks (views into the scratch buffer and the caller's payloads). */
  finish(): Uint8Array[] {
    this.flushChunk();
    return this.chunks;
  }
  /** Returns the written message as one buffer (a view when nothing was referenced, else a copy). */
  finishContiguous(): Uint8Array {
    if (this.chunks.length === 0) return this.buf.subarray(this.chunkStart, this.pos);
    return concatBytes(this.finish());
  }
}

/** A records field value when encoding: one view, several views back to back, or null. */
export type RecordsValue = Uint8Array | readonly Uint8Array[] | null;

/** Copies `parts` back to back into one new buffer. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Total byte length of a records value. */
export function recordsLength(r: RecordsValue): number {
  if (r === null) return 0;
  if (r instanceof Uint8Array) return r.length;
  let n = 0;
  for (const c of r) n += c.length;
  return n;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
