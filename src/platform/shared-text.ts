/**
 * Texts that one thread of a process publishes and every other thread reads, in a SharedArrayBuffer: a fixed number
 * of slots, each holding at most `maxBytes` of UTF-8 and a generation that counts its publications. Readers never
 * wait long: a sequence word (odd while a publication is being written) tells a torn read, which is read again, at
 * most {@link READ_SPINS_MAX} times (a writer stopped mid-publication leaves it odd for good); writers of one slot
 * take turns through a spin lock. The buffer crosses to workers in a structured clone and stays shared.
 */

/** Int32 words at the head of each slot: writer lock, sequence (twice the generation, odd while writing), length. */
const LOCK = 0;
const SEQ = 1;
const LENGTH = 2;
const SLOT_HEADER_BYTES = 16;
/** Int32 words of the buffer's own header: slot count, maxBytes. */
const HEADER_BYTES = 8;
/** Spins after which a writer's lock is taken as lost (a thread stopped while holding it). */
const LOCK_SPINS_MAX = 100_000_000;

/** Reads of a slot being written after which a reader gives up ({@link SharedTexts.read} answers "writing"). */
export const READ_SPINS_MAX = 1_000_000;

/** Slots of shared texts (see the module comment). */
export class SharedTexts {
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  private readonly slots: number;
  private readonly maxBytes: number;
  private readonly slotBytes: number;

  private constructor(readonly buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.u8 = new Uint8Array(buffer);
    this.slots = this.i32[0];
    this.maxBytes = this.i32[1];
    this.slotBytes = SLOT_HEADER_BYTES + Math.ceil(this.maxBytes / 4) * 4;
  }

  /** A new buffer of `slots` empty slots (generation 0) of at most `maxBytes` each. */
  static create(slots: number, maxBytes: number): SharedTexts {
    if (!Number.isInteger(slots) || slots < 0 || !Number.isInteger(maxBytes) || maxBytes < 1) throw new Error(`shared texts: bad shape ${slots} x ${maxBytes}`);
    const buffer = new SharedArrayBuffer(HEADER_BYTES + slots * (SLOT_HEADER_BYTES + Math.ceil(maxBytes / 4) * 4));
    const i32 = new Int32Array(buffer);
    i32[0] = slots;
    i32[1] = maxBytes;
    return new SharedTexts(buffer);
  }

  /** The slots in `buffer` (made by {@link SharedTexts.create}, possibly in another thread). */
  static attach(buffer: SharedArrayBuffer): SharedTexts {
    return new SharedTexts(buffer);
  }

  /** How many slots there are. */
  get slotCount(): number {
    return this.slots;
  }

  /** How many times slot `slot` was published (0: never). */
  generation(slot: number): number {
    return Atomics.load(this.i32, this.word(slot, SEQ)) >>> 1;
  }

  /** Publishes `text` in slot `slot`; returns its generation, or null when it is longer than the slots hold. */
  publish(slot: number, text: string): number | null {
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > this.maxBytes) return null;
    const lock = this.word(slot, LOCK);
    for (let spins = 0; Atomics.compareExchange(this.i32, lock, 0, 1) !== 0; spins++) {
      if (spins > LOCK_SPINS_MAX) throw new Error(`shared text slot ${slot}: lock not released`);
    }
    try {
      const seq = this.word(slot, SEQ);
      Atomics.add(this.i32, seq, 1); // odd: readers retry
      Atomics.store(this.i32, this.word(slot, LENGTH), bytes.length);
      this.u8.set(bytes, this.dataAt(slot));
      return (Atomics.add(this.i32, seq, 1) + 1) >>> 1;
    } finally {
      Atomics.store(this.i32, lock, 0);
    }
  }

  /**
   * The text last published in slot `slot` with its generation, null when none was, or "writing" when a publication
   * stayed unfinished through {@link READ_SPINS_MAX} reads (its writer may have stopped mid-publication).
   */
  read(slot: number): { generation: number; text: string } | null | "writing" {
    const seq = this.word(slot, SEQ);
    for (let spins = 0; ; spins++) {
      if (spins >= READ_SPINS_MAX) return "writing";
      const before = Atomics.load(this.i32, seq);
      if (before === 0) return null;
      if ((before & 1) === 1) continue;
      const length = Atomics.load(this.i32, this.word(slot, LENGTH));
      const at = this.dataAt(slot);
      const copy = this.u8.slice(at, at + length);
      if (Atomics.load(this.i32, seq) === before) return { generation: before >>> 1, text: new TextDecoder().decode(copy) };
    }
  }

  private word(slot: number, w: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) throw new Error(`shared text slot ${slot} of ${this.slots}`);
    return (HEADER_BYTES + slot * this.slotBytes) / 4 + w;
  }

  private dataAt(slot: number): number {
    return HEADER_BYTES + slot * this.slotBytes + SLOT_HEADER_BYTES;
  }
}
