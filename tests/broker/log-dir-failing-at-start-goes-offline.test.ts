/**
 * KIP-112 at start: a log dir whose disk fails while the broker starts goes offline and the broker starts with the
 * others (it used to refuse to start). Its partitions answer KAFKA_STORAGE_ERROR (they are never opened empty on
 * another dir), the other dir serves and takes new partitions, and after a restart with the disk back everything
 * acknowledged is there. A broker whose every log dir fails shuts down, as Kafka does: at start it refuses to
 * start; at run time it stops and says so (BrokerDeps.onFatal, on which `runnel start` exits 1).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { nodeFileSystem, type FileSystem } from "../../src/platform/fs.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";
import { rootCheckpointOffset } from "../support/root-checkpoint.ts";

await initCrc32c();

function batch(n: number, tag: string): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset({});
  for (let i = 0; i < n; i++) bb.append(Date.now(), null, new TextEncoder().encode(`${tag} ${i}`));
  return bb.finish().slice();
}

/** The real file system, except that every call on a path under `state.dead`, or on a file opened there, fails with `state.code`. */
function diskThatDies(): { fs: FileSystem; state: { dead: string; code: string } } {
  const state = { dead: "", code: "EIO" };
  const under = (p: unknown) => state.dead !== "" && typeof p === "string" && (p === state.dead || p.startsWith(`${state.dead}/`));
  const failing = <T extends object>(target: T, pathOf: (args: unknown[]) => unknown[]): T =>
    new Proxy(target, {
      get(t, prop) {
        const real = (t as Record<string | symbol, unknown>)[prop];
        if (typeof real !== "function") return real;
        return (...args: unknown[]) => {
          if (pathOf(args).some(under)) throw Object.assign(new Error(`${state.code}: injected disk failure, ${String(prop)} '${String(pathOf(args)[0])}'`), { code: state.code });
          const out = (real as (...a: unknown[]) => unknown).apply(t, args);
          // open file handles fail too once their file's dir is dead
          return (prop === "open" || prop === "openRead") && out !== null && typeof out === "object" ? failing(out as object, () => [(out as { path: string }).path]) : out;
        };
      },
    });
  return { fs: failing(nodeFileSystem, (args) => args), state };
}

const configFor = (dirs: string[]) => new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dirs.join(",")]]));

test("a log dir that fails at start goes offline; the broker starts and serves from the other; nothing is lost once the disk is back", { timeout: 60_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-dirs-"));
  const [a, b] = [path.join(root, "a"), path.join(root, "b")];
  const clients: RawClient[] = [];
  const brokers: Broker[] = [];
  const produce = async (c: RawClient, topic: string, partition: number, records: Uint8Array) =>
    (await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 2000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] })).responses[0].partitionResponses[0];
  const fetch = async (c: RawClient, topic: string, partition: number) =>
    (await c.request(1, 12, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: "" })).responses[0].partitions[0];
  const start = async (fsys: FileSystem) => {
    const broker = await Broker.start(configFor([a, b]), { fs: fsys, logger: testLogger() });
    brokers.push(broker);
    const c = await RawClient.connect(broker.port);
    clients.push(c);
    return { broker, c };
  };
  try {
    const first = await start(nodeFileSystem);
    await first.broker.createTopic("d", 2, 1, {}, false);
    const dirOf = (broker: Broker, p: number) => broker.logDirs().find((d) => d.partitions.some((x) => x.topic === "d" && x.partition === p))!.dir;
    const [inA, inB] = dirOf(first.broker, 0) === a ? [0, 1] : [1, 0];
    assert.equal(dirOf(first.broker, inB), b, "one partition per dir");
    for (const p of [0, 1]) assert.equal((await produce(first.c, "d", p, batch(3, `before ${p}`))).errorCode, 0);
    await first.broker.stop();

    const { fs: dying, state } = diskThatDies();
    state.dead = b;
    const second = await start(dying);
    const described = second.broker.logDirs();
    assert.ok(described.find((d) => d.dir === b)!.offline !== null, "the failed dir is offline");
    assert.equal(described.find((d) => d.dir === a)!.offline, null);
    assert.equal((await produce(second.c, "d", inA, batch(2, "after"))).errorCode, 0, "the other dir takes writes");
    assert.equal((await fetch(second.c, "d", inA)).highWatermark, 5n);
    assert.equal((await produce(second.c, "d", inB, batch(1, "lost?"))).errorCode, ErrorCode.KAFKA_STORAGE_ERROR, "the partition of the failed dir is offline");
    assert.equal((await fetch(second.c, "d", inB)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    await second.broker.createTopic("n", 2, 1, {}, false);
    const dirsOfN = second.broker.logDirs().flatMap((d) => d.partitions.filter((x) => x.topic === "n").map(() => d.dir));
    assert.deepEqual(dirsOfN, [a, a], "new partitions go to the dir still online");
    await second.broker.stop();

    const third = await start(nodeFileSystem);
    assert.equal((await fetch(third.c, "d", inB)).highWatermark, 3n, "what the failed dir held is all there again");
    assert.equal((await fetch(third.c, "d", inA)).highWatermark, 5n);
  } finally {
    for (const c of clients) c.close();
    for (const b2 of brokers) await b2.stop().catch(() => {});
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("every log dir failing shuts the broker down: at start it refuses, at run time it stops and reports it", { timeout: 60_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-dirs-"));
  const a = path.join(root, "a");
  const { fs: dying, state } = diskThatDies();
  try {
    state.dead = a;
    await assert.rejects(Broker.start(configFor([a]), { fs: dying, logger: testLogger() }), /EIO/);
    state.dead = "";
    let fatal: string | null = null;
    const broker = await Broker.start(configFor([a]), { fs: dying, logger: testLogger(), onFatal: (reason) => (fatal = reason) });
    const c = await RawClient.connect(broker.port);
    try {
      await broker.createTopic("d", 1, 1, {}, false);
      state.dead = a;
      state.code = "ENOSPC";
      // The answer is KAFKA_STORAGE_ERROR, or the connection closes first as the broker shuts down.
      const code = await c
        .request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 2000, topicData: [{ name: "d", partitionData: [{ index: 0, records: batch(1, "x") }] }] })
        .then((res) => res.responses[0].partitionResponses[0].errorCode as number, () => ErrorCode.KAFKA_STORAGE_ERROR);
      assert.equal(code, ErrorCode.KAFKA_STORAGE_ERROR);
      for (let i = 0; i < 100 && fatal === null; i++) await new Promise((res) => setTimeout(res, 20));
      assert.match(fatal ?? "", /all log dirs/);
    } finally {
      c.close();
      await broker.stop().catch(() => {});
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("a log dir offline at run time gets no more high watermark checkpoint writes; the other dir's go on", { timeout: 60_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-dirs-"));
  const [a, b] = [path.join(root, "a"), path.join(root, "b")];
  const { fs: dying, state } = diskThatDies();
  // every checkpoint write asked for, by path (a refused one rejects, as the real file system's does)
  const writes: string[] = [];
  const recording: FileSystem = {
    ...dying,
    writeFileAtomicAsync: (file, data, tag) => {
      writes.push(file);
      try {
        return dying.writeFileAtomicAsync(file, data, tag);
      } catch (e) {
        return Promise.reject(e);
      }
    },
  };
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", `${a},${b}`], ["replica.high.watermark.checkpoint.interval.ms", "20"]]));
  const broker = await Broker.start(config, { fs: recording, logger: testLogger() });
  const c = await RawClient.connect(broker.port);
  const produce = async (partition: number, records: Uint8Array) =>
    (await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 2000, topicData: [{ name: "d", partitionData: [{ index: partition, records }] }] })).responses[0].partitionResponses[0].errorCode as number;
  const checkpointOf = (dir: string, partition: number) => (fs.existsSync(dir) ? rootCheckpointOffset(dir, "replication-offset-checkpoint", "d", partition) : -1n);
  try {
    await broker.createTopic("d", 2, 1, {}, false);
    const inA = broker.logDirs().find((d) => d.dir === a)!.partitions[0].partition;
    const inB = 1 - inA;
    for (const p of [0, 1]) assert.equal(await produce(p, batch(3, `before ${p}`)), 0);
    state.dead = a;
    assert.equal(await produce(inA, batch(1, "lost")), ErrorCode.KAFKA_STORAGE_ERROR, "the dir goes offline");
    assert.ok(broker.logDirs().find((d) => d.dir === a)!.offline !== null);
    const mark = writes.length;
    assert.equal(await produce(inB, batch(2, "after")), 0);
    for (let i = 0; i < 500 && checkpointOf(b, inB) !== 5n; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(checkpointOf(b, inB), 5n, "the online dir's checkpoint goes on");
    // the tick that wrote b's visited the dirs in order: an offline a would have been asked for first
    assert.deepEqual(writes.slice(mark).filter((w) => w.startsWith(`${a}/`)), [], "no checkpoint write into the offline dir");
  } finally {
    c.close();
    await broker.stop().catch(() => {});
    fs.rmSync(root, { recursive: true, force: true });
  }
});
