/**
 * Throughput of the generated codecs on the broker's hot paths: Produce requests (decode on the broker, encode
 * on a client) and Fetch responses (encode on the broker, decode on a client) carrying RecordBatch v2 payloads,
 * plus CRC-32C over 1 MiB buffers. Prints a table and writes bench/results/protocol-codec.json.
 *
 * Run: node_modules/.bin/bun bench/protocol-codec.ts   (also runs under deno: deno run -A bench/protocol-codec.ts)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type FetchResponse,
  type ProduceRequest,
  readFetchResponse,
  readProduceRequest,
  writeFetchResponse,
  writeProduceRequest,
} from "../src/protocol/generated/index.ts";
import { crc32c, initCrc32c } from "../src/protocol/crc32c.ts";
import { Reader, Writer } from "../src/protocol/wire.ts";

/** Produce version benchmarked (flexible, topic names). */
const PRODUCE_VERSION = 11;
/** Fetch version benchmarked (flexible, topic IDs). */
const FETCH_VERSION = 16;
/** Minimum wall time per measurement. */
const MIN_MEASURE_MS = 1000;
/** Upper bound on iterations per measurement, whatever the speed. */
const MAX_ITERATIONS = 10_000_000;

/** How to read the MB/s column; printed and stored with the results. */
const NOTE = "MB/s counts wire bytes per request. Payloads of 4 KiB or more are referenced, not copied, by " +
  "Writer.payload, and decoders return views, so 1 MiB rows measure framing cost; '+ copy' rows add " +
  "Writer.finishContiguous (one memcpy of the whole frame).";

/** Builds one uncompressed RecordBatch v2 of `count` records with `valueSize`-byte values (CRC included). */
function buildBatch(count: number, valueSize: number, baseOffset: bigint): Uint8Array {
  const recordBodies: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const w = new Writer(valueSize + 32);
    w.int8(0); // attributes
    w.varlong(BigInt(i)); // timestampDelta
    w.varint(i); // offsetDelta
    w.varint(-1); // null key
    w.varint(valueSize);
    w.raw(new Uint8Array(valueSize).fill(0x61 + (i % 26)));
    w.varint(0); // headers
    recordBodies.push(w.finishContiguous().slice());
  }
  const w = new Writer(count * (valueSize + 40) + 128);
  w.int64(baseOffset);
  const lengthAt = w.reserve(4);
  w.int32(0); // partitionLeaderEpoch
  w.int8(2); // magic
  const crcAt = w.reserve(4);
  w.int16(0); // attributes
  w.int32(count - 1); // lastOffsetDelta
  w.int64(1_700_000_000_000n);
  w.int64(1_700_000_000_000n + BigInt(count - 1));
  w.int64(-1n); // producerId
  w.int16(-1);
  w.int32(-1);
  w.int32(count);
  for (const body of recordBodies) {
    w.varint(body.length);
    w.raw(body);
  }
  const batch = w.finishContiguous().slice();
  const dv = new DataView(batch.buffer);
  dv.setInt32(lengthAt, batch.length - 12);
  dv.setUint32(crcAt, crc32c(batch.subarray(21)));
  return batch;
}

/** Records that fit a batch of about `batchBytes` with `valueSize`-byte values. */
function recordsPerBatch(batchBytes: number, valueSize: number): number {
  const perRecord = valueSize + 8; // length, attributes, deltas, key/value lengths, header count
  return Math.max(1, Math.floor((batchBytes - 61) / perRecord));
}

interface Scenario {
  name: string;
  partitions: number;
  batch: Uint8Array;
  records: number;
}

function produceRequest(s: Scenario): ProduceRequest {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{
      name: "bench-topic",
      partitionData: Array.from({ length: s.partitions }, (_, i) => ({ index: i, records: s.batch })),
    }],
  };
}

function fetchResponse(s: Scenario): FetchResponse {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [{
      topicId: new Uint8Array(16).fill(7),
      partitions: Array.from({ length: s.partitions }, (_, i) => ({
        partitionIndex: i,
        errorCode: 0,
        highWatermark: 1000n,
        lastStableOffset: 1000n,
        logStartOffset: 0n,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: s.batch,
      })),
    }],
  };
}

interface Result {
  case: string;
  operation: string;
  requestsPerSec: number;
  recordsPerSec: number;
  mbPerSec: number;
  bytesPerRequest: number;
}

/** Runs `op` repeatedly for at least MIN_MEASURE_MS (after a warm-up) and returns operations per second. */
function measure(op: () => void): number {
  const warmEnd = performance.now() + 200;
  while (performance.now() < warmEnd) op();
  let iterations = 0;
  let batch = 1;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MIN_MEASURE_MS && iterations < MAX_ITERATIONS) {
    for (let i = 0; i < batch; i++) op();
    iterations += batch;
    batch = Math.min(batch * 2, 4096);
    elapsed = performance.now() - start;
  }
  return (iterations * 1000) / elapsed;
}

function row(caseName: string, operation: string, opsPerSec: number, records: number, bytes: number): Result {
  return {
    case: caseName,
    operation,
    requestsPerSec: Math.round(opsPerSec),
    recordsPerSec: Math.round(opsPerSec * records),
    mbPerSec: Math.round(((opsPerSec * bytes) / 1e6) * 10) / 10,
    bytesPerRequest: bytes,
  };
}

async function main(): Promise<void> {
  await initCrc32c();
  const small = recordsPerBatch(1024, 100);
  const large = recordsPerBatch(1024 * 1024, 100);
  const scenarios: Scenario[] = [
    { name: `16 x 1 KiB batches (${small} x 100 B records)`, partitions: 16, batch: buildBatch(small, 100, 0n), records: 16 * small },
    { name: `1 x 1 MiB batch (${large} x 100 B records)`, partitions: 1, batch: buildBatch(large, 100, 0n), records: large },
  ];
  const results: Result[] = [];
  const w = new Writer(64 * 1024);
  let sink = 0;
  for (const s of scenarios) {
    const produce = produceRequest(s);
    w.reset();
    writeProduceRequest(w, PRODUCE_VERSION, produce);
    const produceBytes = w.finishContiguous().slice();
    results.push(row(s.name, `Produce v${PRODUCE_VERSION} request encode`, measure(() => {
      w.reset();
      writeProduceRequest(w, PRODUCE_VERSION, produce);
      sink += w.finish().length;
    }), s.records, produceBytes.length));
    results.push(row(s.name, `Produce v${PRODUCE_VERSION} request decode`, measure(() => {
      sink += readProduceRequest(new Reader(produceBytes), PRODUCE_VERSION).topicData.length;
    }), s.records, produceBytes.length));

    const fetch = fetchResponse(s);
    w.reset();
    writeFetchResponse(w, FETCH_VERSION, fetch);
    const fetchBytes = w.finishContiguous().slice();
    results.push(row(s.name, `Fetch v${FETCH_VERSION} response encode`, measure(() => {
      w.reset();
      writeFetchResponse(w, FETCH_VERSION, fetch);
      sink += w.finish().length;
    }), s.records, fetchBytes.length));
    results.push(row(s.name, `Fetch v${FETCH_VERSION} response encode + copy`, measure(() => {
      w.reset();
      writeFetchResponse(w, FETCH_VERSION, fetch);
      sink += w.finishContiguous().length;
    }), s.records, fetchBytes.length));
    results.push(row(s.name, `Fetch v${FETCH_VERSION} response decode`, measure(() => {
      sink += readFetchResponse(new Reader(fetchBytes), FETCH_VERSION).responses.length;
    }), s.records, fetchBytes.length));
  }
  const mib = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 0xff);
  const crcOps = measure(() => {
    sink ^= crc32c(mib);
  });
  results.push(row("1 MiB buffer", "CRC-32C", crcOps, 0, mib.length));

  const runtime = typeof (globalThis as { Bun?: { version: string } }).Bun !== "undefined"
    ? `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
    : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
    ? `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
    : "unknown";
  const header = ["case", "operation", "requests/s", "records/s", "MB/s", "bytes/request"];
  const lines = results.map((r) => [
    r.case,
    r.operation,
    r.requestsPerSec.toLocaleString("en-US"),
    r.recordsPerSec.toLocaleString("en-US"),
    r.mbPerSec.toFixed(1),
    String(r.bytesPerRequest),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(`protocol codec bench (${runtime})`);
  console.log(fmt(header));
  console.log(widths.map((n) => "-".repeat(n)).join("  "));
  for (const l of lines) console.log(fmt(l));
  console.log(NOTE);
  if (sink === 0.5) console.log(sink); // keeps results observable so the work is not optimized away

  const outDir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    `${outDir}protocol-codec.json`,
    JSON.stringify({ bench: "protocol-codec", runtime, date: new Date().toISOString(), note: NOTE, results }, null, 2) + "\n",
  );
}

await main();
