/**
 * A clean stop writes each partition's producer snapshot after the log's tail is synced, then the clean-shutdown
 * marker: Kafka's order (LogManager.shutdown flushes each log, UnifiedLog.close then snapshots the producer state,
 * and the marker comes last). With the snapshot first, a power cut before the tail's sync left a snapshot past the
 * durable log end (recovery then removes it, 76a9c1e; the sims found the case, tests/sim kafka seed 168).
 * The test records the order of the broker's own disk calls on a wrapped file system.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { nodeFileSystem, type FileHandle, type FileSystem } from "../../src/platform/fs.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";

await initCrc32c();

/** The node file system, noting each fdatasync of a `.log` file and each atomic file write, in order. */
function orderRecordingFileSystem(events: string[]): FileSystem {
  const watch = (p: string, h: FileHandle): FileHandle => {
    if (!p.endsWith(".log")) return h;
    return Object.assign(Object.create(h) as FileHandle, {
      datasync: () => h.datasync().then(() => void events.push(`synced ${p}`)),
      datasyncNow: () => {
        h.datasyncNow();
        events.push(`synced ${p}`);
      },
    });
  };
  return {
    ...nodeFileSystem,
    open: (p, create) => watch(p, nodeFileSystem.open(p, create)),
    writeFileAtomic: (p, data) => {
      nodeFileSystem.writeFileAtomic(p, data);
      events.push(`wrote ${p}`);
    },
  };
}

test("a clean stop snapshots the producer state after the log's tail is synced, and writes the clean-shutdown marker last", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-stop-order-"));
  const events: string[] = [];
  const broker = await Broker.start(new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir]])), { fs: orderRecordingFileSystem(events), logger: testLogger() });
  const c = await RawClient.connect(broker.port);
  let stopped = false;
  try {
    await broker.createTopic("p", 1, 1, {}, false);
    const init = await c.request(22, 4, { transactionalId: null, transactionTimeoutMs: -1, producerId: -1n, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const bb = new BatchBuilder(1 << 12);
    bb.reset({ producerId: init.producerId as bigint, producerEpoch: 0, baseSequence: 0 });
    bb.append(Date.now(), null, new TextEncoder().encode("v"));
    const r = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: "p", partitionData: [{ index: 0, records: bb.finish().slice() }] }] });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    c.close();
    const before = events.length;
    await broker.stop();
    stopped = true;
    const stop = events.slice(before);
    const partitionDir = path.join(dir, "p-0");
    const snapshot = stop.findIndex((e) => e.startsWith(`wrote ${partitionDir}/`) && e.endsWith(".snapshot"));
    const lastLogSync = stop.findLastIndex((e) => e.startsWith(`synced ${partitionDir}/`));
    const marker = stop.findIndex((e) => e.startsWith("wrote ") && path.basename(e.slice(6)).startsWith(".kafka_cleanshutdown"));
    const order = stop.join("\n");
    assert.ok(snapshot >= 0, `the stop wrote p-0's producer snapshot:\n${order}`);
    assert.ok(lastLogSync >= 0, `the stop synced p-0's log:\n${order}`);
    assert.ok(lastLogSync < snapshot, `p-0's log synced before its producer snapshot:\n${order}`);
    assert.ok(marker > snapshot, `the clean-shutdown marker after the snapshot:\n${order}`);
  } finally {
    c.close();
    if (!stopped) await broker.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
