/**
 * The log cleaner's key -> latest offset map over the dirty section of a log, in bounded memory (Kafka's
 * `log.cleaner.dedupe.buffer.size`): an open-addressing table of 128-bit key digests (see cleaner-key-hash.ts) and
 * offsets in typed arrays, 24 bytes a slot, filled to at most {@link OFFSET_MAP_LOAD_FACTOR}. Keys themselves are
 * not kept. The table is sized to what a pass needs (never above the buffer limit) and reused across passes.
 *
 * Use: {@link KeyOffsetMap.hashKey} once per record, then {@link KeyOffsetMap.put} or
 * {@link KeyOffsetMap.latestFor} on that digest; neither allocates.
 */
import { type RandomSource, systemRandom } from "../platform/random.ts";
import { KEY_HASH_WORDS, murmur3x86128 } from "./cleaner-key-hash.ts";

/** Kafka's default `log.cleaner.dedupe.buffer.size`: 128 MiB (about 4 million keys at 24 bytes a slot and 0.75 load). */
export const DEFAULT_DEDUPE_BUFFER_BYTES = 128 * 1024 * 1024;
/** Bytes one slot takes: a 16-byte digest and an 8-byte offset. */
export const OFFSET_MAP_SLOT_BYTES = KEY_HASH_WORDS * 4 + 8;
/** Most of the slots that may be filled (linear probing stays short below this). */
export const OFFSET_MAP_LOAD_FACTOR = 0.75;
/** Fewest slots a map has (a tiny buffer still holds a useful batch). */
const MIN_SLOTS = 1024;
/** Offsets are kept as float64, exact below 2^53. */
const MAX_MAPPED_OFFSET = Number.MAX_SAFE_INTEGER;

/** A bounded map from key digest to the latest offset seen for it. */
export class KeyOffsetMap {
  /** The memory limit in bytes (`log.cleaner.dedupe.buffer.size`). */
  readonly maxBytes: number;
  /** Entries the largest table allowed by {@link maxBytes} may hold. */
  readonly maxEntriesLimit: number;
  private slots = 0;
  private maxEntriesNow = 0;
  private digests = new Int32Array(0);
  private offsets = new Float64Array(0);
  private count = 0;
  private seed = 0;
  private readonly digest = new Uint32Array(KEY_HASH_WORDS);
  private latestOffset = -1;
  private readonly random: RandomSource;
  private readonly seedBytes = new Uint8Array(4);

  /** `random` draws each pass's hash seed (the runtime's randomness when absent). */
  constructor(maxBytes: number = DEFAULT_DEDUPE_BUFFER_BYTES, random: RandomSource = systemRandom) {
    this.random = random;
    if (!Number.isInteger(maxBytes) || maxBytes < MIN_SLOTS * OFFSET_MAP_SLOT_BYTES) {
      throw new RangeError(`dedupe buffer of ${maxBytes} bytes is below the minimum ${MIN_SLOTS * OFFSET_MAP_SLOT_BYTES}`);
    }
    this.maxBytes = maxBytes;
    this.maxEntriesLimit = Math.floor(Math.floor(maxBytes / OFFSET_MAP_SLOT_BYTES) * OFFSET_MAP_LOAD_FACTOR);
  }

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  /** Entries the current table may hold before it counts as full. */
  get maxEntries(): number {
    return this.maxEntriesNow;
  }

  /** Largest offset put since the last {@link reset}, or -1. */
  get latest(): number {
    return this.latestOffset;
  }

  /** Bytes the table currently occupies. */
  get allocatedBytes(): number {
    return this.digests.byteLength + this.offsets.byteLength;
  }

  /**
   * Empties the map for a pass expected to see at most `expectedEntries` keys (capped at the memory limit), with a
   * fresh random hash seed. Reuses the table when it is large enough.
   */
  reset(expectedEntries: number): void {
    const wanted = Math.min(this.maxEntriesLimit, Math.max(MIN_SLOTS * OFFSET_MAP_LOAD_FACTOR, Math.ceil(expectedEntries)));
    const slots = Math.min(Math.floor(this.maxBytes / OFFSET_MAP_SLOT_BYTES), Math.max(MIN_SLOTS, Math.ceil(wanted / OFFSET_MAP_LOAD_FACTOR)));
    if (slots > this.offsets.length) {
      this.digests = new Int32Array(slots * KEY_HASH_WORDS);
      this.offsets = new Float64Array(slots);
    }
    this.slots = this.offsets.length;
    this.maxEntriesNow = Math.floor(this.slots * OFFSET_MAP_LOAD_FACTOR);
    this.offsets.fill(-1);
    this.count = 0;
    this.latestOffset = -1;
    this.random.fill(this.seedBytes);
    this.seed = new DataView(this.seedBytes.buffer).getInt32(0, true);
  }

  /** Hashes the key `buf[start, start+length)`; the next {@link put} or {@link latest} uses this digest. */
  hashKey(buf: Uint8Array, start: number, length: number): void {
    murmur3x86128(buf, start, length, this.seed, this.digest);
  }

  /**
   * Records `offset` as the latest for the last hashed key (a larger offset replaces a smaller one). Returns false,
   * changing nothing, when the key is new and every slot is taken.
   */
  put(offset: number): boolean {
    if (!(offset >= 0 && offset <= MAX_MAPPED_OFFSET)) throw new RangeError(`offset ${offset} cannot be mapped`);
    const slot = this.findSlot();
    if (slot < 0) return false;
    if (this.offsets[slot] < 0) this.count++;
    else this.assertSameDigest(slot);
    if (offset > this.offsets[slot]) this.offsets[slot] = offset;
    if (offset > this.latestOffset) this.latestOffset = offset;
    return true;
  }

  /** The latest offset recorded for the last hashed key, or -1 if it was never put. */
  latestFor(): number {
    const slot = this.findSlot();
    return slot < 0 ? -1 : this.offsets[slot];
  }

  /**
   * Slot holding the current digest, or the empty slot where it would go (the digest is written there; the slot
   * stays empty until an offset is set); -1 if the table is full without it.
   */
  private findSlot(): number {
    if (this.slots === 0) throw new Error("KeyOffsetMap used before reset()");
    const d = this.digest;
    const d0 = d[0] | 0;
    const d1 = d[1] | 0;
    const d2 = d[2] | 0;
    const d3 = d[3] | 0;
    const digests = this.digests;
    const offsets = this.offsets;
    let slot = (d0 >>> 0) % this.slots;
    for (let probes = 0; probes < this.slots; probes++) {
      if (offsets[slot] < 0) {
        digests[slot * 4] = d0;
        digests[slot * 4 + 1] = d1;
        digests[slot * 4 + 2] = d2;
        digests[slot * 4 + 3] = d3;
        return slot;
      }
      const at = slot * 4;
      if (digests[at] === d0 && digests[at + 1] === d1 && digests[at + 2] === d2 && digests[at + 3] === d3) return slot;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
    return -1;
  }

  private assertSameDigest(slot: number): void {
    const at = slot * 4;
    const d = this.digest;
    if (this.digests[at] !== (d[0] | 0) || this.digests[at + 3] !== (d[3] | 0)) throw new Error("offset map slot holds another digest");
  }
}
