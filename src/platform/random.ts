/**
 * Randomness, injected where decisions use it (replica placement), so a seeded test or the simulation can replay a
 * choice exactly.
 */

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** The runtime's generator. */
export const systemRandom: Random = Math.random;

/** A small deterministic generator (SplitMix32 style) for tests and simulation. */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}
