/**
 * Our client connection sends a request larger than its 64 KiB encoding buffer, after other requests, with the
 * right size prefix: a broker answers it and the connection stays open. (The buffer grows during such a request;
 * its size prefix was once patched at its old position, so the broker read a frame size of 0 and closed the
 * connection: a sharded node's front forwarding a Fetch of 1,500 partitions to its own shard did exactly that.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { ApiKey } from "../../src/protocol/generated/index.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { MetadataResponse } from "../../src/protocol/generated/03_metadata.ts";

test("a Metadata request of 200 KB after smaller ones is answered on the same connection", { timeout: 60_000 }, async () => {
  const b = await startTestBroker({ "auto.create.topics.enable": "false" });
  const c = await BrokerConnection.open("127.0.0.1", b.port, -1);
  try {
    // Small requests first, so the large one does not start at the encoding buffer's beginning.
    for (let i = 0; i < 3; i++) await c.request<MetadataResponse>(ApiKey.Metadata, { topics: [{ name: `small-${i}`, topicId: null }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const names = Array.from({ length: 4000 }, (_, i) => `a-topic-name-long-enough-to-weigh-${String(i).padStart(6, "0")}`);
    const r = await c.request<MetadataResponse>(ApiKey.Metadata, { topics: names.map((name) => ({ name, topicId: null })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(r.topics.length, names.length);
    assert.deepEqual(new Set(r.topics.map((t) => t.name)), new Set(names));
    assert.ok(r.topics.every((t) => t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    // The connection is still in step: one more request is answered.
    const after = await c.request<MetadataResponse>(ApiKey.Metadata, { topics: [{ name: "after", topicId: null }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(after.topics[0].name, "after");
  } finally {
    c.close();
    await b.stop();
  }
});
