/**
 * A sharded node's accepting threads each follow dynamic broker configs on their own, and publish their
 * `max.connections` in the node's table, over which closings are claimed (NodeConnectionQuotas.limitsChanged). A
 * thread that applies a change late must not publish its older limit over a newer one: after 10 -> 5 -> 10, a thread
 * applying the 5 late would otherwise make the node close connections under the newest limit of 10. The threads
 * here are two counts on one real table, each with its own config and the metadata version it has applied.
 * Runtime-neutral (also under Deno).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NodeConnectionQuotas, nodeConnectionTable } from "../../src/broker/connection-quotas.ts";
import { connectionLimitsOf } from "../../src/broker/kafka-listener.ts";
import { SharedKeyTable } from "../../src/platform/shared-table.ts";
import { BrokerConfig } from "../../src/broker/config.ts";

const plain = { index: 0, name: "PLAINTEXT", protected: false };

/** One accepting thread: its config, the store version that config is at, and its counts in the node's table. */
function thread(table: SharedKeyTable) {
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["max.connections", "10"]]));
  let version = 1;
  const counts = new NodeConnectionQuotas(connectionLimitsOf(config, null), SharedKeyTable.attach(table.buffer), () => version);
  return {
    counts,
    /** Applies the dynamic change of store version `v`: `max.connections` = `max`. */
    apply(v: number, max: number) {
      config.values.set("max.connections", String(max));
      version = v;
      counts.limitsChanged();
    },
    /** Opens `n` connections from distinct addresses. */
    open(n: number, from: string) {
      for (let i = 0; i < n; i++) {
        assert.ok(counts.hold());
        assert.equal(counts.admit(`${from}.${i}`, plain), null);
      }
    },
  };
}

test("a thread applying an older lowered max.connections late does not publish it over the newest raise", () => {
  const table = nodeConnectionTable();
  const a = thread(table);
  const b = thread(table);
  a.open(4, "10.0.0");
  b.open(4, "10.0.1");
  // version 2 lowers the limit to 5, version 3 raises it back to 10; thread A applies both first
  a.apply(2, 5);
  assert.equal(a.counts.overLimit(), true); // 8 open over the 5 it applied: the lowered limit closes connections
  a.apply(3, 10);
  assert.equal(a.counts.overLimit(), false);
  // thread B applies version 2 only now: it judges by its own 5 and the newest published, version 3's 10
  b.apply(2, 5);
  assert.equal(b.counts.overLimit(), false);
  assert.equal(b.counts.claimEviction(), false);
  assert.equal(a.counts.overLimit(), false);
  b.apply(3, 10);
  assert.equal(b.counts.overLimit(), false);
  // a newer lowering is published by the first thread that applies it: that thread closes connections over it at
  // once, the other once it applies it too
  b.apply(4, 6);
  assert.equal(a.counts.overLimit(), false);
  assert.equal(b.counts.claimEviction(), true);
  a.apply(4, 6);
  assert.equal(a.counts.claimEviction(), true);
  assert.equal(a.counts.claimEviction(), false); // 8 open, 2 closings claimed: 6
});

test("a thread that starts after a change publishes the limit of the store version it merged", () => {
  const table = nodeConnectionTable();
  const a = thread(table);
  a.open(8, "10.0.0");
  a.apply(5, 20);
  // a thread starting later at version 3 (its store had not caught up) with max.connections 5 does not publish 5
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["max.connections", "5"]]));
  const late = new NodeConnectionQuotas(connectionLimitsOf(config, null), SharedKeyTable.attach(table.buffer), () => 3);
  assert.equal(late.overLimit(), false);
  assert.equal(a.counts.overLimit(), false);
});
