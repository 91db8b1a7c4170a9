/**
 * `runnel quota set|describe|remove`: quotas set by the CLI are what the broker enforces (resolved with Kafka's
 * precedence), listed by `describe`, removed by `remove`; keys Runnel does not enforce are refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { IN_PROCESS } from "../support/group-state.ts";
import { runnel } from "./run-cli.ts";

test("runnel quota set, describe and remove", { timeout: 120_000 }, async () => {
  const broker = await startTestBroker();
  try {
    const b = ["-b", broker.bootstrap];
    const set = await runnel(["quota", "set", "--client", "loader", "--set", "producer_byte_rate=2048", ...b]);
    assert.equal(set.code, 0, set.stderr);
    const def = await runnel(["quota", "set", "--user-default", "--set", "consumer_byte_rate=4096", ...b]);
    assert.equal(def.code, 0, def.stderr);
    // What the broker resolves for a client (Kafka's precedence) only an in-process broker tells; a sharded node's
    // quotas are read back over the wire below (DescribeClientQuotas, through `describe`).
    const q = IN_PROCESS ? broker.broker.clientQuotas : null;
    if (q !== null) {
      assert.equal(q.resolve("producer_byte_rate", "ANONYMOUS", "loader")?.value, 2048);
      assert.equal(q.resolve("consumer_byte_rate", "alice", "anything")?.value, 4096, "the default user's quota applies to every user");
    }
    const all = await runnel(["quota", "describe", ...b]);
    assert.match(all.stdout, /client-id=loader\s+producer_byte_rate\s+2048/);
    assert.match(all.stdout, /user=<default>\s+consumer_byte_rate\s+4096/);
    const one = await runnel(["quota", "describe", "--client", "loader", ...b]);
    assert.doesNotMatch(one.stdout, /consumer_byte_rate/);
    const rm = await runnel(["quota", "remove", "--client", "loader", "--key", "producer_byte_rate", ...b]);
    assert.equal(rm.code, 0, rm.stderr);
    const left = await runnel(["quota", "describe", ...b]);
    assert.doesNotMatch(left.stdout, /client-id=loader/, "removed");
    assert.match(left.stdout, /user=<default>\s+consumer_byte_rate\s+4096/, "the other quota stays");
    if (q !== null) assert.equal(q.resolve("producer_byte_rate", "ANONYMOUS", "loader"), null);
    // an ip entity takes connection_creation_rate (KIP-612)
    const ip = await runnel(["quota", "set", "--ip", "10.1.2.3", "--set", "connection_creation_rate=100", ...b]);
    assert.equal(ip.code, 0, ip.stderr);
    assert.match((await runnel(["quota", "describe", "--ip", "10.1.2.3", ...b])).stdout, /ip=10\.1\.2\.3\s+connection_creation_rate\s+100/);
    const bad = await runnel(["quota", "set", "--client", "x", "--set", "no_such_rate=50", ...b]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid configuration key no_such_rate/);
  } finally {
    await broker.stop();
  }
});
