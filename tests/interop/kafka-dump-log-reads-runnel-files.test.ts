/**
 * Issue 13 acceptance, the on-disk format: Kafka's log dump tool (kafka-dump-log, org.apache.kafka.tools.DumpLogSegments
 * 4.4) reads the .log, .index, .timeindex, .snapshot and .txnindex files Runnel wrote and reports no corruption.
 * The data: a multi-segment topic written with every codec by Runnel's client, an idempotent and a transactional
 * Java producer (commits, aborts, a fenced producer: producer snapshots, control batches, aborted-transaction
 * index), a consumer group's commits in __consumer_offsets and the transaction coordinator's __transaction_state,
 * the last two also decoded by the tool's --offsets-decoder and --transaction-log-decoder.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startTestBroker } from "../support/broker.ts";
import { javaSkip, startToolSession, KAFKA_TOOL } from "../support/java.ts";
import { Producer } from "../../src/client/producer.ts";
import { Consumer } from "../../src/client/consumer.ts";

const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
const PER_CODEC = 3000;

/** A value that compresses poorly (so the topic spans several 1 MiB segments). */
function noisy(i: number): string {
  let x = (i * 2654435761) >>> 0;
  let s = "";
  for (let j = 0; j < 200 + (i % 200); j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += String.fromCharCode(33 + ((x >>> 16) % 94));
  }
  return s;
}

/** Lines of the dump of each file, by file path. */
function sections(out: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  let cur: string[] = [];
  for (const line of out.split("\n")) {
    const d = /^Dumping (.+)$/.exec(line);
    if (d) m.set(d[1], (cur = []));
    else if (line.trim() !== "") cur.push(line);
  }
  return m;
}

test("kafka-dump-log --deep-iteration reads Runnel's segments, indexes, snapshots and txn indexes without corruption", { skip: javaSkip, timeout: 240_000 }, async () => {
  const b = await startTestBroker({ "transaction.state.log.num.partitions": "3" });
  let stopped = false;
  const tools = startToolSession();
  try {
    await b.broker.createTopic("dump-bulk", 1, 1, { "segment.bytes": "1048576" }, false);
    await b.broker.createTopic("java-idem", 3, 1, {}, false);
    await b.broker.createTopic("java-txn", 2, 1, {}, false);
    for (const codec of CODECS) {
      const p = new Producer({ bootstrap: b.bootstrap, compressionType: codec, lingerMs: 5 });
      await p.connect();
      await Promise.all([...Array(PER_CODEC).keys()].map((i) => p.send({ topic: "dump-bulk", key: `k${i}`, value: noisy(i) })));
      await p.close();
    }
    const java = await tools.run("runnel.Producers", ["--bootstrap", b.bootstrap, "--idem-topic", "java-idem", "--txn-topic", "java-txn", "--count", "200", "--compression", "zstd"]);
    assert.equal(java.code, 0, java.stdout + java.stderr);
    const c = new Consumer({ bootstrap: b.bootstrap, groupId: "dump-g", autoOffsetReset: "earliest", enableAutoCommit: false });
    await c.connect();
    c.subscribe(["java-idem"]);
    for (let n = 0; n < 200; ) n += (await c.poll(500)).length;
    await c.commit();
    await c.close();
    await b.stop({ keepDir: true });
    stopped = true;

    const files: string[] = [];
    for (const d of fs.readdirSync(b.dir, { withFileTypes: true })) {
      if (d.isDirectory()) for (const f of fs.readdirSync(path.join(b.dir, d.name))) files.push(path.join(b.dir, d.name, f));
    }
    const internal = (f: string) => /__consumer_offsets|__transaction_state/.test(f);
    const user = files.filter((f) => !internal(f) && /\.(log|index|timeindex|snapshot|txnindex)$/.test(f));
    const bulkLogs = user.filter((f) => f.includes("dump-bulk-0") && f.endsWith(".log"));
    assert.ok(bulkLogs.length >= 2, `dump-bulk spans several segments: ${bulkLogs}`);
    for (const kind of ["snapshot", "txnindex"]) assert.ok(user.some((f) => f.endsWith(`.${kind}`)), `Runnel wrote .${kind} files`);

    const dump = await tools.run(KAFKA_TOOL.dumpLog, ["--deep-iteration", "--files", user.join(",")]);
    assert.equal(dump.code, 0, dump.stderr);
    assert.doesNotMatch(dump.stdout + dump.stderr, /mismatch|out of order|corrupt|exception|isvalid: false/i);
    const byFile = sections(dump.stdout);
    assert.deepEqual([...byFile.keys()].sort(), [...user].sort(), "every file dumped");
    let bulkRecords = 0;
    for (const [file, lines] of byFile) {
      if (file.endsWith(".log")) {
        const batches = lines.filter((l) => l.startsWith("baseOffset:"));
        assert.ok(batches.length > 0, `${file} has batches`);
        for (const l of batches) assert.match(l, /magic: 2 .*isvalid: true$/, l);
        if (file.includes("dump-bulk")) bulkRecords += lines.filter((l) => l.startsWith("| offset:")).length;
      } else if (file.endsWith(".snapshot")) {
        assert.ok(lines.length > 0 && lines.every((l) => /^producerId: \d+ producerEpoch: \d+ /.test(l)), `${file}:\n${lines.join("\n")}`);
      } else if (file.endsWith(".txnindex")) {
        assert.ok(lines.every((l) => /^version: 0 producerId: \d+ firstOffset: \d+ lastOffset: \d+ lastStableOffset: \d+$/.test(l)), `${file}:\n${lines.join("\n")}`);
      } else if (file.endsWith(".index") && file.includes("dump-bulk")) {
        assert.ok(lines.length > 1 && lines.every((l) => /^offset: \d+ position: \d+$/.test(l)), `${file}:\n${lines.slice(0, 5).join("\n")}`);
      } else if (file.endsWith(".timeindex") && file.includes("dump-bulk")) {
        assert.ok(lines.length > 1 && lines.every((l) => /^timestamp: \d+ offset: \d+$/.test(l)), `${file}:\n${lines.slice(0, 5).join("\n")}`);
      }
    }
    assert.equal(bulkRecords, CODECS.length * PER_CODEC, "every record of dump-bulk is read back");
    const aborted = [...byFile].filter(([f]) => f.endsWith(".txnindex")).flatMap(([, l]) => l);
    assert.ok(aborted.length >= 1, "the aborted transaction is indexed");

    const offsets = await tools.run(KAFKA_TOOL.dumpLog, ["--offsets-decoder", "--files", files.filter((f) => /__consumer_offsets-\d+\/\d+\.log$/.test(f)).join(",")]);
    assert.equal(offsets.code, 0, offsets.stderr);
    for (const p of [0, 1, 2]) assert.match(offsets.stdout, new RegExp(`key: \\{"type":"1","data":\\{"group":"dump-g","topic":"java-idem","partition":${p}\\}\\} payload: \\{"version":"\\d","data":\\{"offset":\\d+,`));
    assert.match(offsets.stdout, /key: \{"type":"2","data":\{"group":"dump-g"\}\} payload: \{"version":"\d","data":\{"protocolType":"consumer",/);
    const txns = await tools.run(KAFKA_TOOL.dumpLog, ["--transaction-log-decoder", "--files", files.filter((f) => /__transaction_state-\d+\/\d+\.log$/.test(f)).join(",")]);
    assert.equal(txns.code, 0, txns.stderr);
    for (const state of ["Ongoing", "PrepareCommit", "CompleteCommit", "PrepareAbort", "CompleteAbort"])
      assert.match(txns.stdout, new RegExp(`"transactionalId":"runnel-java-txn".*"transactionStatus":"${state}"`));
    assert.doesNotMatch(offsets.stdout + txns.stdout, /isvalid: false|exception/i);
  } finally {
    await tools.close();
    if (!stopped) await b.stop();
    else fs.rmSync(b.dir, { recursive: true, force: true });
  }
});
