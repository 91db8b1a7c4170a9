/**
 * Topic metadata is durable first, then visible (issue: "Metadata changes memory before disk"): with a disk that
 * refuses the metadata write (ENOSPC) or runs out of file descriptors while partition directories are created
 * (EMFILE), CreateTopics, CreatePartitions, DeleteTopics and IncrementalAlterConfigs answer KAFKA_STORAGE_ERROR
 * per topic on a connection that stays open; a failed create leaves no live topic, no directory and no record (also
 * after a restart), failed new partitions leave none of them, a failed delete leaves the topic usable and a failed
 * config change changes nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { nodeFileSystem, type FileSystem } from "../../src/platform/fs.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { ZERO_UUID } from "../../src/protocol/wire.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";

await initCrc32c();

/** Faults: `metadataFull` fails the metadata file write; `partitionDirsLeft` >= 0 fails mkdir once that many more succeeded. */
interface Faults {
  metadataFull: boolean;
  partitionDirsLeft: number;
}

function faultyFs(faults: Faults): FileSystem {
  return {
    ...nodeFileSystem,
    writeFileAtomic(p, data) {
      if (faults.metadataFull && p.endsWith("__runnel_metadata.json")) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      nodeFileSystem.writeFileAtomic(p, data);
    },
    writeFileAtomicAsync(p, data, tag) {
      if (faults.metadataFull && p.endsWith("__runnel_metadata.json")) return Promise.reject(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
      return nodeFileSystem.writeFileAtomicAsync(p, data, tag);
    },
    mkdirp(p) {
      if (/-\d+$/.test(p) && faults.partitionDirsLeft >= 0 && faults.partitionDirsLeft-- === 0) {
        throw Object.assign(new Error(`EMFILE: too many open files, mkdir '${p}'`), { code: "EMFILE" });
      }
      nodeFileSystem.mkdirp(p);
    },
  };
}

test("failed metadata writes answer KAFKA_STORAGE_ERROR and leave no half topic, before and after a restart", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-metafail-"));
  const faults: Faults = { metadataFull: false, partitionDirsLeft: -1 };
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir]]));
  let broker = await Broker.start(config, { fs: faultyFs(faults), logger: testLogger() });
  let c = await RawClient.connect(broker.port);
  const create = async (name: string, numPartitions: number) =>
    (await c.request(19, 7, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false })).topics[0];
  const del = async (name: string) => (await c.request(20, 6, { topics: [{ name, topicId: ZERO_UUID }], timeoutMs: 1000 })).responses[0];
  const describe = async (name: string) => (await c.request(3, 12, { topics: [{ topicId: ZERO_UUID, name }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).topics[0];
  const produce = async (name: string) =>
    (await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name, partitionData: [{ index: 0, records: makeRecordsBatch(2, Date.now()) }] }] })).responses[0].partitionResponses[0];
  const dirsOf = (name: string) => fs.readdirSync(dir).filter((d) => d.startsWith(`${name}-`));
  try {
    assert.equal((await create("kept", 2)).errorCode, ErrorCode.NONE);
    assert.equal((await produce("kept")).errorCode, ErrorCode.NONE);

    // EMFILE after 3 of 8 partition directories: nothing of the topic remains.
    faults.partitionDirsLeft = 3;
    const half = await create("half", 8);
    assert.equal(half.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.match(half.errorMessage, /EMFILE/);
    faults.partitionDirsLeft = -1;
    assert.equal((await describe("half")).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.deepEqual(dirsOf("half"), []);

    // The same for partitions added to a topic: all of them or none.
    faults.partitionDirsLeft = 1;
    const grow = (await c.request(37, 3, { topics: [{ name: "kept", count: 5, assignments: null }], timeoutMs: 1000, validateOnly: false })).results[0];
    assert.equal(grow.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    faults.partitionDirsLeft = -1;
    assert.equal((await describe("kept")).partitions.length, 2);
    assert.deepEqual(dirsOf("kept").sort(), ["kept-0", "kept-1"]);

    // The metadata file cannot be written: the create fails whole, the delete leaves the topic usable.
    faults.metadataFull = true;
    const full = await create("nospace", 3);
    assert.equal(full.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal((await describe("nospace")).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.deepEqual(dirsOf("nospace"), []);
    assert.equal((await del("kept")).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal((await describe("kept")).errorCode, ErrorCode.NONE);
    assert.equal((await produce("kept")).errorCode, ErrorCode.NONE, "a topic whose delete failed still takes writes");
    const alter = (await c.request(44, 1, { resources: [{ resourceType: 2, resourceName: "kept", configs: [{ name: "retention.ms", configOperation: 0, value: "1234" }] }], validateOnly: false })).responses[0];
    assert.equal(alter.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal(broker.topicsByName.get("kept")!.overrides["retention.ms"], undefined, "a config change the disk refused is not applied");
    faults.metadataFull = false;

    // After a restart the broker knows exactly what it answered: "kept" with its 4 records, nothing else.
    c.close();
    await broker.stop();
    broker = await Broker.start(config, { logger: testLogger() });
    c = await RawClient.connect(broker.port);
    assert.deepEqual([...broker.topicsByName.keys()], ["kept"]);
    assert.equal(broker.partition("kept", 0)?.log.logEndOffset, 4n);
    assert.deepEqual([...dirsOf("half"), ...dirsOf("nospace")], []);
    assert.equal((await create("half", 8)).errorCode, ErrorCode.NONE, "the name is free again");
    assert.equal((await del("kept")).errorCode, ErrorCode.NONE);
    assert.equal((await describe("kept")).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    c.close();
    await broker.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
