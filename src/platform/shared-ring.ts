/**
 * A single-producer single-consumer byte ring in a SharedArrayBuffer, for one direction of a connection between two
 * threads (./port-connection.ts). The writer copies bytes in and publishes them with one atomic store; the reader
 * copies them out (its handler may keep what it gets) and frees the space with one atomic store. Positions are byte
 * counts modulo 2^32 and the capacity a power of two, so `written - read` is the bytes in the ring as long as the capacity is below 2^31.
 *
 * Next to the data, the header holds the words the two ends use to wake each other (see ./port-connection.ts): a
 * doorbell the reader sleeps on (`Atomics.waitAsync`), whether it sleeps, whether the writer waits for space, and
 * the close of either side.
 */

/** Header words (Int32), each on its own 64-byte line where the two threads write often. */
export const RING_WRITTEN = 0;
/** Bytes read (freed) so far, modulo 2^32: stored by the reader. */
export const RING_READ = 16;
/** Bumped by anyone who wants the ring's reader to look again (data, freed space in its own outbox, a close). */
export const RING_DOORBELL = 32;
/** 1 while the reader sleeps on the doorbell (a ringer then calls `Atomics.notify`). */
export const RING_SLEEPING = 33;
/** 1 while the writer waits for space or for the reader to drain (the reader then rings the writer). */
export const RING_WRITER_WAITING = 34;
/** 1 once the writer has written its last byte (a graceful close: the reader delivers what is left, then closes). */
export const RING_WRITER_CLOSED = 35;
/** 1 once the reader reads no more (the writer drops what it still has). */
export const RING_READER_CLOSED = 36;
const HEADER_WORDS = 48;
const HEADER_BYTES = HEADER_WORDS * 4;

/** One byte ring over a SharedArrayBuffer; both threads wrap the same buffer in their own `SharedRing`. */
export class SharedRing {
  /** The header words (see the RING_* indexes). */
  readonly header: Int32Array;
  /** Bytes the ring holds at most. */
  readonly capacity: number;
  private readonly data: Uint8Array;

  /** Wraps `buffer` (made by {@link SharedRing.allocate} on either thread). */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, HEADER_WORDS);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
    this.capacity = this.data.length;
    // A power of two, so positions modulo 2^32 map to the same place in the ring across their wrap-around.
    if (this.capacity <= 0 || this.capacity >= 2 ** 31 || (this.capacity & (this.capacity - 1)) !== 0) throw new Error(`shared ring: capacity ${this.capacity} is not a power of two below 2^31`);
  }

  /** A new, empty ring of `capacity` bytes. */
  static allocate(capacity: number): SharedRing {
    return new SharedRing(new SharedArrayBuffer(HEADER_BYTES + capacity));
  }

  /** Bytes written and not yet read. */
  used(): number {
    const n = (Atomics.load(this.header, RING_WRITTEN) - Atomics.load(this.header, RING_READ)) >>> 0;
    if (n > this.capacity) throw new Error(`shared ring: ${n} bytes used of ${this.capacity} (positions corrupt)`);
    return n;
  }

  /**
   * Writer: copies the bytes of `chunks` from `chunks[0]` at `offset` on, as many as fit, and publishes them with one
   * store. Returns how many chunks were written whole and the offset reached in the next one.
   */
  write(chunks: readonly Uint8Array[], offset: number): { chunks: number; offset: number; bytes: number } {
    const written = Atomics.load(this.header, RING_WRITTEN);
    let free = this.capacity - ((written - Atomics.load(this.header, RING_READ)) >>> 0);
    let at = (written >>> 0) % this.capacity;
    let i = 0;
    let bytes = 0;
    while (i < chunks.length && free > 0) {
      const c = chunks[i];
      const n = Math.min(c.length - offset, free);
      const first = Math.min(n, this.capacity - at);
      this.data.set(n === c.length && offset === 0 && first === n ? c : c.subarray(offset, offset + first), at);
      if (first < n) this.data.set(c.subarray(offset + first, offset + n), 0);
      at = (at + n) % this.capacity;
      free -= n;
      bytes += n;
      offset += n;
      if (offset === c.length) {
        i++;
        offset = 0;
      }
    }
    if (bytes > 0) Atomics.store(this.header, RING_WRITTEN, (written + bytes) | 0);
    return { chunks: i, offset, bytes };
  }

  /** Reader: copies out up to `max` of the bytes in the ring (one buffer the caller may keep) and frees their space. */
  read(max: number): Uint8Array {
    const read = Atomics.load(this.header, RING_READ);
    const n = Math.min(this.used(), max);
    const out = new Uint8Array(n);
    const at = (read >>> 0) % this.capacity;
    const first = Math.min(n, this.capacity - at);
    out.set(this.data.subarray(at, at + first), 0);
    if (first < n) out.set(this.data.subarray(0, n - first), first);
    Atomics.store(this.header, RING_READ, (read + n) | 0);
    return out;
  }

  /** Wakes the ring's reader: bumps the doorbell, and notifies it if it sleeps. */
  ring(): void {
    Atomics.add(this.header, RING_DOORBELL, 1);
    if (Atomics.load(this.header, RING_SLEEPING) === 1) Atomics.notify(this.header, RING_DOORBELL);
  }
}
