/**
 * Oversized and truncated SASL tokens: before its first authentication a client on a SASL listener may send frames
 * of at most `sasl.server.max.receive.size` (Kafka's 512 KiB default): a bigger one closes that connection (logged),
 * while an authenticated kafkajs producer still sends a 700 KB record; a truncated PLAIN token and a truncated SCRAM
 * client-first message are answered SASL_AUTHENTICATION_FAILED and closed; an authenticated bystander is unaffected.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { waitUntil } from "../transactions/wait-until.ts";

test("a frame over sasl.server.max.receive.size before authentication closes the connection; truncated tokens are refused", { timeout: 60_000 }, async () => {
  const logLines: string[] = [];
  const b = await startTestBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-pw";',
    "message.max.bytes": "2000000",
  }, undefined, logLines);
  try {
    const bystander = await RawClient.connect(b.port);
    assert.equal((await bystander.request(17, 1, { mechanism: "PLAIN" })).errorCode, 0);
    assert.equal((await bystander.request(36, 2, { authBytes: Buffer.from("\0alice\0alice-pw") })).errorCode, 0);

    // 600,000 announced bytes before authenticating: closed once the size is read, before the body is awaited.
    const sock = net.connect(b.port, "127.0.0.1");
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    const closed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
    const size = Buffer.alloc(4);
    size.writeInt32BE(600_000);
    sock.write(size);
    await closed;
    // The line may reach the test after the close (a sharded node logs from its own process).
    await waitUntil(() => logLines.some((l) => /frame size 600000 outside \[10, 524288\] \(sasl\.server\.max\.receive\.size before SASL authentication\)/.test(l)), 10_000, () => logLines.join("\n"));

    // A PLAIN token without its password part.
    const plain = await RawClient.connect(b.port);
    assert.equal((await plain.request(17, 1, { mechanism: "PLAIN" })).errorCode, 0);
    assert.equal((await plain.request(36, 2, { authBytes: Buffer.from("\0alice") })).errorCode, 58);
    await plain.closed;
    // A SCRAM client-first message cut before its nonce.
    const scram = await RawClient.connect(b.port);
    assert.equal((await scram.request(17, 1, { mechanism: "SCRAM-SHA-256" })).errorCode, 0);
    assert.equal((await scram.request(36, 2, { authBytes: Buffer.from("n,,n=alice") })).errorCode, 58);
    await scram.closed;

    // Once authenticated the limit is socket.request.max.bytes again.
    const created = await bystander.request(19, 7, { topics: [{ name: "big", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0);
    const producer = new Kafka({ clientId: "big", brokers: [b.bootstrap], sasl: { mechanism: "plain", username: "alice", password: "alice-pw" }, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic: "big", messages: [{ value: Buffer.alloc(700_000, 7) }] });
    await producer.disconnect();
    const end = await bystander.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: "big", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    assert.equal(end.topics[0].partitions[0].offset, 1n, "the 700,000-byte record was taken");
    assert.equal((await bystander.request(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" })).errorCode, 0, "the bystander is still served");
    bystander.close();
  } finally {
    await b.stop();
  }
});
