/**
 * A fixed-capacity table from string keys to a few float64 values in a SharedArrayBuffer, for the threads of one
 * process (the shards of a node) to count together: node-wide connection counts and client-quota balances. Every
 * read and change runs inside {@link SharedKeyTable.locked} (one spin lock, held for a few hundred instructions).
 * Keys are compared by length, two 32-bit hashes and their first `keyChars` UTF-16 units, so keys up to `keyChars`
 * long are exact. A wake counter lets a thread wait (without blocking its event loop) until another one changes
 * something it waits for. The buffer crosses to workers in a structured clone and stays shared.
 */

/** The shape of a table, fixed at creation. */
export interface SharedTableShape {
  /** Entries it can hold at once. */
  slots: number;
  /** Key units stored and compared exactly (longer keys: the rest by hash). */
  keyChars: number;
  /** float64 values per entry. */
  values: number;
  /** float64 values of the whole table (counters). */
  globals: number;
}

/** Int32 header words. */
const LOCK = 0;
const USED = 1;
const WAKE = 2;
const SHAPE = 3; // slots, keyChars, values, globals
const HEADER_BYTES = 32;
/** Spins after which the lock is taken as lost (a thread stopped while holding it). */
const LOCK_SPINS_MAX = 100_000_000;

function hash(key: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return h | 0;
}

/** A table over a SharedArrayBuffer (see the module comment). */
export class SharedKeyTable {
  private readonly i32: Int32Array;
  private readonly u16: Uint16Array;
  private readonly f64: Float64Array;
  private readonly u8: Uint8Array;
  private readonly shape: SharedTableShape;
  private readonly slotBytes: number;
  private readonly slotsAt: number;
  private held = false;

  private constructor(readonly buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.u16 = new Uint16Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.u8 = new Uint8Array(buffer);
    this.shape = { slots: this.i32[SHAPE], keyChars: this.i32[SHAPE + 1], values: this.i32[SHAPE + 2], globals: this.i32[SHAPE + 3] };
    this.slotBytes = SharedKeyTable.slotBytesOf(this.shape);
    this.slotsAt = HEADER_BYTES + 8 * this.shape.globals;
  }

  private static slotBytesOf(s: SharedTableShape): number {
    return 16 + Math.ceil((2 * s.keyChars) / 8) * 8 + 8 * s.values;
  }

  /** A new, empty table. */
  static create(shape: SharedTableShape): SharedKeyTable {
    if (!(shape.slots >= 1 && shape.keyChars >= 1 && shape.values >= 0 && shape.globals >= 0)) throw new Error(`bad shared table shape ${JSON.stringify(shape)}`);
    const buffer = new SharedArrayBuffer(HEADER_BYTES + 8 * shape.globals + shape.slots * SharedKeyTable.slotBytesOf(shape));
    const i32 = new Int32Array(buffer);
    i32.set([shape.slots, shape.keyChars, shape.values, shape.globals], SHAPE);
    return new SharedKeyTable(buffer);
  }

  /** The table in `buffer` (made by {@link SharedKeyTable.create}, perhaps in another thread). */
  static attach(buffer: SharedArrayBuffer): SharedKeyTable {
    return new SharedKeyTable(buffer);
  }

  /** Runs `fn` holding the table's lock (not reentrant: `fn` must not wait on anything). */
  locked<T>(fn: () => T): T {
    if (this.held) throw new Error("shared table lock taken twice by one thread");
    let spins = 0;
    while (Atomics.compareExchange(this.i32, LOCK, 0, 1) !== 0) {
      if (++spins > LOCK_SPINS_MAX) throw new Error("shared table lock not released (a thread stopped holding it)");
    }
    this.held = true;
    try {
      return fn();
    } finally {
      this.held = false;
      Atomics.store(this.i32, LOCK, 0);
    }
  }

  private assertHeld(): void {
    if (!this.held) throw new Error("shared table used outside locked()");
  }

  /** Entries in use. */
  size(): number {
    return Atomics.load(this.i32, USED);
  }

  /** The slot of `key`, or -1; with `create`, a new zeroed entry (still -1 when the table is full). */
  find(key: string, create: boolean): number {
    this.assertHeld();
    const { slots } = this.shape;
    const h1 = hash(key, 0x811c9dc5);
    const h2 = hash(key, 0x2545f491);
    let i = (h1 >>> 0) % slots;
    for (let probes = 0; probes < slots; probes++, i = (i + 1) % slots) {
      const w = this.wordAt(i);
      if (this.i32[w] === 0) {
        if (!create) return -1;
        this.i32.set([1, key.length, h1, h2], w);
        const c = (w * 4 + 16) / 2;
        const n = Math.min(key.length, this.shape.keyChars);
        for (let k = 0; k < n; k++) this.u16[c + k] = key.charCodeAt(k);
        this.f64.fill(0, this.valueAt(i), this.valueAt(i) + this.shape.values);
        this.i32[USED]++;
        return i;
      }
      if (this.i32[w + 1] === key.length && this.i32[w + 2] === h1 && this.i32[w + 3] === h2 && this.sameChars(w, key)) return i;
    }
    return -1;
  }

  /** Whether `slot` holds an entry (to visit every entry: slots 0 .. {@link SharedKeyTable.slots} - 1). */
  inUse(slot: number): boolean {
    this.assertHeld();
    return this.i32[this.wordAt(slot)] !== 0;
  }

  /** Capacity in slots. */
  get slots(): number {
    return this.shape.slots;
  }

  /** Value `k` of the entry in `slot`. */
  value(slot: number, k: number): number {
    this.assertHeld();
    return this.f64[this.valueAt(slot) + k];
  }

  /** Sets value `k` of the entry in `slot`. */
  setValue(slot: number, k: number, v: number): void {
    this.assertHeld();
    this.f64[this.valueAt(slot) + k] = v;
  }

  /** Table-wide value `k`. */
  global(k: number): number {
    this.assertHeld();
    return this.f64[HEADER_BYTES / 8 + k];
  }

  /** Sets table-wide value `k`. */
  setGlobal(k: number, v: number): void {
    this.assertHeld();
    this.f64[HEADER_BYTES / 8 + k] = v;
  }

  /** Removes the entry in `slot` (linear probing: later entries of its run move back). */
  remove(slot: number): void {
    this.assertHeld();
    const { slots } = this.shape;
    let hole = slot;
    let j = slot;
    this.i32[this.wordAt(hole)] = 0;
    for (;;) {
      j = (j + 1) % slots;
      const w = this.wordAt(j);
      if (this.i32[w] === 0) break;
      const home = (this.i32[w + 2] >>> 0) % slots;
      const between = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (between) continue;
      const from = this.slotsAt + j * this.slotBytes;
      this.u8.copyWithin(this.slotsAt + hole * this.slotBytes, from, from + this.slotBytes);
      hole = j;
      this.i32[w] = 0;
    }
    this.i32[USED]--;
  }

  /** Wakes every thread waiting in {@link SharedKeyTable.changedSince}. */
  wake(): void {
    Atomics.add(this.i32, WAKE, 1);
    Atomics.notify(this.i32, WAKE);
  }

  /** The wake counter now (give it to {@link SharedKeyTable.changedSince}). */
  wakeCount(): number {
    return Atomics.load(this.i32, WAKE);
  }

  /** Resolves after a {@link SharedKeyTable.wake} that came after the counter read `seen` (without blocking the loop). */
  changedSince(seen: number): Promise<void> {
    const r = Atomics.waitAsync(this.i32, WAKE, seen);
    return r.async ? r.value.then(() => {}) : Promise.resolve();
  }

  private wordAt(slot: number): number {
    return (this.slotsAt + slot * this.slotBytes) / 4;
  }

  private valueAt(slot: number): number {
    return (this.slotsAt + slot * this.slotBytes + this.slotBytes - 8 * this.shape.values) / 8;
  }

  private sameChars(w: number, key: string): boolean {
    const c = (w * 4 + 16) / 2;
    const n = Math.min(key.length, this.shape.keyChars);
    for (let k = 0; k < n; k++) if (this.u16[c + k] !== key.charCodeAt(k)) return false;
    return true;
  }
}
