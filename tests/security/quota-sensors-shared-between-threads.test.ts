/**
 * Quota sensors in a node's shared table (src/security/quota-rate.ts): two shards' QuotaRates, with different
 * monotonic origins, spend from one balance; refilled sensors are pruned when the table is full, and a sensor that
 * finds no room even then is counted by the shard alone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NODE_QUOTA_SENSORS, QuotaRates, sharedQuotaTable } from "../../src/security/quota-rate.ts";

test("two shards spend from one balance of a shared sensor", () => {
  const table = sharedQuotaTable();
  const a = new QuotaRates(2, 1000);
  const b = new QuotaRates(2, 1000);
  // Shard b's thread started 5 s after shard a's: the same instant is 5000 ms less on its clock.
  a.share({ table, originMs: 1_000_000 });
  b.share({ table, originMs: 1_005_000 });
  assert.equal(a.record("s", 600, 1000, 10_000), 0, "within the burst of 1000");
  assert.equal(b.record("s", 600, 1000, 5_000), 200, "the node owes 200 bytes: 200 ms at 1000 B/s");
  assert.equal(a.owed("s", 1000, 10_100), 100, "100 ms later the debt is half repaid, seen from the other shard");
  const alone = new QuotaRates(2, 1000);
  assert.equal(alone.record("s", 600, 1000, 5_000), 0, "a shard that does not share counts alone");
});

test("a full shared table drops refilled sensors, and counts alone when none refilled", () => {
  const table = sharedQuotaTable();
  const r = new QuotaRates(2, 1000);
  r.share({ table, originMs: 0 });
  for (let i = 0; i < NODE_QUOTA_SENSORS; i++) r.record(`debt-${i}`, 2000, 1000, 0);
  assert.equal(table.size(), NODE_QUOTA_SENSORS);
  // No sensor has refilled: the new one is counted in this thread only (its own burst), the table unchanged.
  assert.equal(r.record("late", 500, 1000, 0), 0);
  assert.equal(r.record("late", 1000, 1000, 0), 500);
  assert.equal(table.size(), NODE_QUOTA_SENSORS);
  // 3 s later every sensor has repaid its debt and refilled: the next new sensor prunes them all.
  assert.equal(r.record("fresh", 10, 1000, 3000), 0);
  assert.equal(table.size(), 1);
});
