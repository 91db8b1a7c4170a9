/**
 * The Kafka oracle's starter tells a listener port taken before the JVM bound it (KafkaPortTakenError, which a fresh
 * start and a cluster start answer by picking new ports) from any other failed start. A CI run once lost the cluster differential file to an outgoing connection that took
 * one of the six ports picked for the Kafka cluster.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { KafkaPortTakenError, kafkaUnavailable, startKafka } from "./kafka-broker.ts";
import { freePorts } from "../../bench/suite/processes.ts";

/** A server listening on a port the OS chose on 127.0.0.1; it closes what connects (Kafka's readiness probe). */
async function holdPort(): Promise<net.Server> {
  const srv = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => resolve());
  });
  return srv;
}

const why = kafkaUnavailable();

test(`a fresh Kafka start given a taken port fails with KafkaPortTakenError${why ? ` (SKIPPED: ${why})` : ""}`, { skip: why ?? false }, async () => {
  const held = await holdPort();
  try {
    const port = (held.address() as net.AddressInfo).port;
    const [controllerPort] = await freePorts(1);
    await assert.rejects(startKafka({ ports: { port, controllerPort }, heap: "256m" }), (e: unknown) => {
      assert.ok(e instanceof KafkaPortTakenError, `not a KafkaPortTakenError: ${e}`);
      return true;
    });
  } finally {
    await new Promise((r) => held.close(r));
  }
});
