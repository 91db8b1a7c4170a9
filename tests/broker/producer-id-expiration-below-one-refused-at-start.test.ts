/**
 * `producer.id.expiration.ms` (how long a partition keeps a producer's KIP-890 joining guard) below 1 is refused
 * when the broker starts, with a message naming the key, as Kafka's validator refuses it; before, every partition
 * open failed on it instead.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { testLogger } from "../support/broker.ts";

test("producer.id.expiration.ms=0 is refused at start, naming the key", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-pidexp-"));
  try {
    const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["producer.id.expiration.ms", "0"]]));
    await assert.rejects(Broker.start(config, { logger: testLogger() }), /producer\.id\.expiration\.ms must be at least 1/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
