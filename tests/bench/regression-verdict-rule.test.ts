import { test } from "node:test";
import assert from "node:assert/strict";
import { pairedVerdict, signTestInterval } from "../../bench/suite/paired-verdict.ts";

test("sign-test interval: min..max up to 7 pairs, then inner order statistics at >= 90%", () => {
  assert.deepEqual(signTestInterval(6), { d: 0, coverage: 1 - 2 / 64 });
  assert.equal(signTestInterval(8).d, 1);
  assert.equal(signTestInterval(12).d, 2);
});

test("verdict: regressed, no regression, inconclusive at 5% tolerance", () => {
  assert.equal(pairedVerdict([0.8, 0.85, 0.9, 0.7, 0.88, 0.92], 0.05).verdict, "regressed");
  assert.equal(pairedVerdict([1.0, 0.99, 1.2, 0.97, 1.1, 0.96], 0.05).verdict, "no regression");
  assert.equal(pairedVerdict([0.8, 1.1, 0.9, 1.0, 1.2, 0.85], 0.05).verdict, "inconclusive");
  // Every pair worse, but by less than the tolerance: not called a regression, and not cleared either.
  assert.equal(pairedVerdict([0.97, 0.98, 0.96, 0.99, 0.97, 0.9], 0.05).verdict, "inconclusive");
  // Three pairs cover the median with only 75%: never a verdict.
  assert.equal(pairedVerdict([0.5, 0.5, 0.5], 0.05).verdict, "inconclusive");
});
