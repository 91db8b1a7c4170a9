/**
 * A clean stop whose final sync of a log fails writes no clean-shutdown marker in that log's dir, so the next start
 * recovers it fully (Kafka: LogManager.shutdown marks a dir clean only when every log's flush and close there
 * succeeded; an IOException in them, the producer snapshot (UnifiedLog.close) and the transaction index flush included,
 * fails the dir).
 * The failures are injected into the broker's own file system from fdatasync, once the stop begins: EIO (a disk
 * failure: the log dir goes offline) or EBADF (not one: the log alone goes offline, and its dir is not marked).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { nodeFileSystem, type FileHandle, type FileSystem } from "../../src/platform/fs.ts";
import { CLEAN_SHUTDOWN_FILE } from "../../src/storage/log-manager.ts";
import { testLogger } from "../support/broker.ts";
import { waitUntil } from "../transactions/wait-until.ts";

/** The node file system, whose fdatasyncs (and whole-file writes) of files in `failing.dir` ending in `failing.suffix` throw `failing.code` once the dir is set. */
function failingSyncFileSystem(failing: Failing): FileSystem {
  const eio = (p: string) => Object.assign(new Error(`${failing.code}: injected, fdatasync '${p}'`), { code: failing.code });
  const fails = (p: string) => failing.dir !== null && p.startsWith(`${failing.dir}/`) && p.endsWith(failing.suffix);
  const wrap = (p: string, h: FileHandle): FileHandle =>
    Object.assign(Object.create(h) as FileHandle, {
      datasync: () => (fails(p) ? Promise.reject(eio(p)) : h.datasync()),
      datasyncNow: () => {
        if (fails(p)) throw eio(p);
        h.datasyncNow();
      },
    });
  return {
    ...nodeFileSystem,
    open: (p, create) => wrap(p, nodeFileSystem.open(p, create)),
    // a whole-file write (the producer snapshot) fails as its fsync would
    writeFileAtomic: (p, data) => {
      if (fails(p)) throw eio(p);
      nodeFileSystem.writeFileAtomic(p, data);
    },
  };
}

/** Which fdatasyncs fail: of files ending in `suffix` under `dir` (none while null), with `code`. */
interface Failing {
  dir: string | null;
  suffix: string;
  code: string;
}

/** Starts a broker on a fresh log dir with the failing file system, runs `load`, fails `suffix` syncs of p-0 with `code`, stops it. */
async function stopWithFailingSync(suffix: string, code: string, load: (b: Broker) => Promise<void>): Promise<{ dir: string; lines: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-stop-sync-fails-"));
  const failing: Failing = { dir: null, suffix, code };
  const lines: string[] = [];
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["transaction.state.log.num.partitions", "1"], ["offsets.topic.num.partitions", "1"]]));
  const broker = await Broker.start(config, { fs: failingSyncFileSystem(failing), logger: testLogger(lines) });
  let stopped = false;
  try {
    await broker.createTopic("p", 1, 1, {}, false);
    await load(broker);
    failing.dir = path.join(dir, "p-0");
    await broker.stop();
    stopped = true;
    return { dir, lines };
  } finally {
    if (!stopped) await broker.stop().catch(() => {});
  }
}

/** Sends one record to p-0 with acks=1 (its segment then has a tail to sync at the stop). */
async function produceOne(b: Broker): Promise<void> {
  const producer = new Kafka({ clientId: "stop-sync", brokers: [`127.0.0.1:${b.port}`], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({ topic: "p", acks: 1, messages: [{ value: "v" }] });
  await producer.disconnect();
}

/** Writes an aborted transaction into p-0 and waits for its `.txnindex` entry (written with the ABORT marker). */
async function abortOne(b: Broker): Promise<void> {
  const producer = new Kafka({ clientId: "stop-sync", brokers: [`127.0.0.1:${b.port}`], logLevel: logLevel.NOTHING }).producer({ transactionalId: "stop-sync", idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const txn = await producer.transaction();
  await txn.send({ topic: "p", messages: [{ value: "aborted" }] });
  await txn.abort();
  await producer.disconnect();
  const p0 = b.topicsByName.get("p")!.partitions[0];
  await waitUntil(() => p0.abortedTxns.size === 1, 20_000, "the ABORT marker's .txnindex entry");
}

const cases = [
  { what: "a log", suffix: ".log", code: "EIO", load: produceOne },
  { what: "a log's aborted-transaction index", suffix: ".txnindex", code: "EIO", load: abortOne },
  { what: "a log's aborted-transaction index", suffix: ".txnindex", code: "EBADF", load: abortOne },
  { what: "a log's producer snapshot", suffix: ".snapshot", code: "EIO", load: abortOne },
  { what: "a log's producer snapshot", suffix: ".snapshot", code: "EBADF", load: abortOne },
];
for (const c of cases) {
  test(`a clean stop whose final fdatasync of ${c.what} fails (${c.code}) writes no clean-shutdown marker for its log dir`, async () => {
    const { dir, lines } = await stopWithFailingSync(c.suffix, c.code, c.load);
    try {
      assert.ok(lines.some((l) => l.includes(`${c.code}: injected`)), `the injected failure was met:\n${lines.join("\n")}`);
      assert.equal(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE)), false, "no clean-shutdown marker: the next start recovers the dir");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
