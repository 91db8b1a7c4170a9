/**
 * Source of randomness, injected like the clock so that tests and the deterministic simulation can replay a run
 * from one seed. Product code never calls `Math.random`, `crypto.randomUUID` or `crypto.getRandomValues` directly.
 */

/** Random numbers, bytes and UUIDs. */
export interface RandomSource {
  /** A float in [0, 1). */
  float(): number;
  /** Fills `bytes` with random bytes. */
  fill(bytes: Uint8Array): void;
  /** A random version-4 UUID in its 36-character text form. */
  uuid(): string;
}

/** The runtime's randomness (Math.random, the Web Crypto generator). */
export const systemRandom: RandomSource = {
  float: () => Math.random(),
  fill: (bytes) => {
    // Web Crypto refuses views of shared memory; a caller that passes one has a bug, not a case to handle here.
    if (!(bytes.buffer instanceof ArrayBuffer)) throw new TypeError("systemRandom.fill: bytes must not be a view of a SharedArrayBuffer");
    crypto.getRandomValues(bytes as Uint8Array<ArrayBuffer>);
  },
  uuid: () => crypto.randomUUID(),
};

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A deterministic source (sfc32 seeded by splitmix32) for tests and the simulation: one seed, one sequence. */
export class SeededRandom implements RandomSource {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The next 32 random bits as an unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Fills `bytes` with random bytes. */
  fill(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += 4) {
      const v = this.u32();
      for (let k = 0; k < 4 && i + k < bytes.length; k++) bytes[i + k] = (v >>> (8 * k)) & 0xff;
    }
  }

  /** A version-4 UUID drawn from this sequence. */
  uuid(): string {
    const b = new Uint8Array(16);
    this.fill(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => HEX[x]).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}
