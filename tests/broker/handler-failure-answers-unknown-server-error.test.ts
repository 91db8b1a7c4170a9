/**
 * A failing handler costs the client one request, not its connection: the request is answered with
 * UNKNOWN_SERVER_ERROR in a response shaped for its API and version, the failure is logged once, and the same
 * connection keeps working. An acks=0 produce that fails closes the connection instead (it has no response to
 * carry the error), as Kafka does. Topic operations that hit an I/O error answer KAFKA_STORAGE_ERROR for that topic.
 * Against a sharded node (RUNNEL_TEST_SHARDS) only the acks=0 test runs: the others replace the in-process broker's
 * handlers or start a broker over a faulty file system in this process.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startTestBroker, testLogger } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ZERO_UUID } from "../../src/protocol/wire.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { nodeFileSystem, type FileSystem } from "../../src/platform/fs.ts";
import type { ApiHandler } from "../../src/broker/api-handler.ts";
import { IN_PROCESS } from "../support/group-state.ts";

const apiVersions = { clientSoftwareName: "t", clientSoftwareVersion: "1" };

function replaceHandler(handlers: ReadonlyArray<ApiHandler | undefined>, apiKey: number, handle: ApiHandler["handle"]): void {
  const old = handlers[apiKey]!;
  (handlers as (ApiHandler | undefined)[])[apiKey] = { ...old, handle };
}

function batch(n: number): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset({});
  for (let i = 0; i < n; i++) bb.append(Date.now(), null, new TextEncoder().encode(`v${i}`));
  return bb.finish();
}

test("a handler that throws answers UNKNOWN_SERVER_ERROR per topic, logs once, and the connection stays open", { skip: IN_PROCESS ? false : "replaces handlers of the in-process broker (single-shard only)" }, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({}, undefined, lines);
  const c = await RawClient.connect(b.port);
  try {
    replaceHandler(b.broker.handlers, 3, () => {
      throw new Error("boom in metadata");
    });
    const meta = await c.request(3, 12, { topics: [{ topicId: ZERO_UUID, name: "a" }, { topicId: ZERO_UUID, name: "b" }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.deepEqual(meta.topics.map((t: { name: string; errorCode: number }) => [t.name, t.errorCode]), [["a", ErrorCode.UNKNOWN_SERVER_ERROR], ["b", ErrorCode.UNKNOWN_SERVER_ERROR]]);
    const meta13 = await c.request(3, 13, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(meta13.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR, "v13 carries it at the top level");

    // A handler whose promise rejects: Produce answers the error for every partition it was asked about.
    await b.broker.createTopic("p", 2, 1, {}, false);
    replaceHandler(b.broker.handlers, 0, () => Promise.reject(new Error("boom in produce")));
    const prod = await c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: "p", partitionData: [{ index: 0, records: batch(1) }, { index: 1, records: batch(1) }] }] });
    assert.deepEqual(prod.responses[0].partitionResponses.map((p: { index: number; errorCode: number }) => [p.index, p.errorCode]), [[0, ErrorCode.UNKNOWN_SERVER_ERROR], [1, ErrorCode.UNKNOWN_SERVER_ERROR]]);

    const ok = await c.request(18, 3, apiVersions);
    assert.equal(ok.errorCode, 0, "the same connection still serves");
    const errors = lines.filter((l) => l.startsWith("ERROR"));
    assert.equal(errors.length, 3, `one ERROR line per failed request:\n${errors.join("\n")}`);
    assert.ok(!lines.some((l) => l.includes("closing connection")), "no connection was closed");
  } finally {
    c.close();
    await b.stop();
  }
});

test("acks=0 produce: a failed partition closes the connection; a successful one keeps it", async () => {
  const b = await startTestBroker({ "auto.create.topics.enable": "false" });
  try {
    await b.broker.createTopic("z", 1, 1, {}, false);
    const good = await RawClient.connect(b.port);
    const produce = (topic: string) => good.frame(0, 9, { transactionalId: null, acks: 0, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch(2) }] }] });
    await good.sendRaw(produce("z"), false);
    assert.equal((await good.request(18, 3, apiVersions)).errorCode, 0, "a successful acks=0 produce keeps the connection");
    const end = await good.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: "z", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    assert.equal(end.topics[0].partitions[0].offset, 2n, "the acks=0 records were appended");

    await good.sendRaw(produce("no-such-topic"), false);
    await good.closed; // the positive event: the broker closed it
    const other = await RawClient.connect(b.port);
    assert.equal((await other.request(18, 3, apiVersions)).errorCode, 0, "other connections are unaffected");
    other.close();
  } finally {
    await b.stop();
  }
});

test("I/O errors that are not disk failures (EMFILE) in CreateTopics, DeleteTopics, Metadata auto-creation, CreatePartitions and IncrementalAlterConfigs answer KAFKA_STORAGE_ERROR for that topic and keep the connection", { skip: IN_PROCESS ? false : "starts its own in-process broker over a faulty file system (the same run as single-shard)" }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-ioerr-"));
  let failing = false;
  // EMFILE, not a disk failure: a disk failure (ENOSPC, EIO...) takes the only log dir offline and shuts the broker
  // down (KIP-112, tests/durability), while an I/O error that leaves the dir online must cost only that topic.
  const emfile = (op: string) => Object.assign(new Error(`EMFILE: too many open files, ${op}`), { code: "EMFILE" });
  const faulty: FileSystem = {
    ...nodeFileSystem,
    mkdirp: (p) => {
      if (failing) throw emfile(`mkdir '${p}'`);
      nodeFileSystem.mkdirp(p);
    },
    writeFileAtomic: (p, d) => {
      if (failing) throw emfile(`write '${p}'`);
      nodeFileSystem.writeFileAtomic(p, d);
    },
    writeFileAtomicAsync: (p, d, tag) => failing ? Promise.reject(emfile(`write '${p}'`)) : nodeFileSystem.writeFileAtomicAsync(p, d, tag),
    removeTree: (p) => {
      if (failing) throw emfile(`rmdir '${p}'`);
      nodeFileSystem.removeTree(p);
    },
  };
  const lines: string[] = [];
  const broker = await Broker.start(new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["offsets.topic.num.partitions", "1"]])), { fs: faulty, logger: testLogger(lines) });
  const c = await RawClient.connect(broker.port);
  const create = (name: string) => c.request(19, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  try {
    assert.equal((await create("kept")).topics[0].errorCode, 0);
    failing = true;
    const created = await create("new");
    assert.equal(created.topics[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    const deleted = await c.request(20, 6, { topics: [{ name: "kept", topicId: ZERO_UUID }], timeoutMs: 1000 });
    assert.equal(deleted.responses[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    const meta = await c.request(3, 12, { topics: [{ topicId: ZERO_UUID, name: "auto" }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
    assert.equal(meta.topics[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    const grown = await c.request(37, 3, { topics: [{ name: "kept", count: 3, assignments: null }], timeoutMs: 1000, validateOnly: false });
    assert.equal(grown.results[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    const altered = await c.request(44, 1, { resources: [{ resourceType: 2, resourceName: "kept", configs: [{ name: "retention.ms", configOperation: 0, value: "1000" }] }], validateOnly: false });
    assert.equal(altered.responses[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    failing = false;
    assert.equal((await c.request(18, 3, apiVersions)).errorCode, 0, "the connection survived every failure");
    assert.ok(!lines.some((l) => l.includes("closing connection")), "no connection was closed");
  } finally {
    failing = false;
    c.close();
    await broker.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
