/**
 * Fetch ceiling without the broker (issue 15): a canned server in its own process answers every Fetch request with
 * the same pre-encoded 16 MiB response (16 batches of 1 MiB), and the same consumer loop as bench/ingest.ts reads
 * it back. The figure is what the bench consumer plus the platform socket layer can carry on this machine, so a
 * broker fetch figure can be read against it rather than only against iperf3.
 *
 * Usage: bun bench/fetch-ceiling.ts [--seconds 3] [--connections 4] [--consumer stream|reuse|fresh]
 * stream: bench/fetch-stream.ts, as bench/ingest.ts reads now (batch headers only, nothing assembled);
 * reuse: each response copied into one reused buffer per connection; fresh: each response concatenated into a new
 * buffer, as bench/ingest.ts read before.
 */
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { listen } from "../src/platform/net.ts";
import { Reader, Writer } from "../src/protocol/wire.ts";
import { readResponseHeader, writeRequestHeader, writeResponseHeader } from "../src/protocol/generated/headers.ts";
import { readFetchResponse, writeFetchRequest, writeFetchResponse } from "../src/protocol/generated/01_fetch.ts";
import { BatchBuilder } from "../src/protocol/record-batch.ts";
import { initCrc32c } from "../src/protocol/crc32c.ts";
import { RawKafkaConnection, printTable } from "./support.ts";
import { StreamingFetchConnection } from "./fetch-stream.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    connections: { type: "string", default: "4" },
    serve: { type: "boolean", default: false },
    consumer: { type: "string", default: "stream" },
  },
});
const RESPONSE_BATCHES = 16;

await initCrc32c();

function cannedResponse(): Uint8Array {
  const b = new BatchBuilder(1 << 20);
  b.reset({});
  const value = new Uint8Array(994);
  const now = Date.now();
  while (b.append(now, null, value));
  const batch = b.finish();
  const records = new Uint8Array(batch.length * RESPONSE_BATCHES);
  for (let i = 0; i < RESPONSE_BATCHES; i++) records.set(batch, i * batch.length);
  const w = new Writer(records.length + 4096);
  w.reserve(4);
  writeResponseHeader(w, 1, { correlationId: 1 });
  writeFetchResponse(w, 12, {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [{ topic: "ingest", topicId: new Uint8Array(16), partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 0n, lastStableOffset: 0n, logStartOffset: 0n, abortedTransactions: null, preferredReadReplica: -1, records }] }],
  } as never);
  const out = w.finishContiguous().slice();
  new DataView(out.buffer).setInt32(0, out.length - 4);
  return out;
}

if (values.serve) {
  const resp = cannedResponse();
  const l = await listen("127.0.0.1", 0, (conn) => {
    let pending = 0;
    return {
      // Requests are small and one is outstanding per connection: answer each complete 4-byte-prefixed frame.
      onData(b: Uint8Array) {
        pending += b.length;
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (pending >= 4 && pending >= dv.getInt32(0) + 4) {
          pending = 0;
          conn.write([resp]);
        }
      },
      onDrain() {},
      onClose() {},
    };
  });
  console.log(`port ${l.port}`);
} else {
  const child = spawn(process.execPath, [import.meta.path ?? new URL(import.meta.url).pathname, "--serve"], { stdio: ["ignore", "pipe", "inherit"] });
  const port: number = await new Promise((resolve) => {
    let out = "";
    child.stdout!.on("data", (b) => {
      out += b;
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  const w = new Writer(4096);
  w.reserve(4);
  writeRequestHeader(w, 2, { requestApiKey: 1, requestApiVersion: 12, correlationId: 1, clientId: "bench" });
  writeFetchRequest(w, 12, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 64 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: "ingest", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 16 << 20 }] }], forgottenTopicsData: [], rackId: "" } as never);
  const req = w.finishContiguous().slice();
  new DataView(req.buffer).setInt32(0, req.length - 4);
  const end = performance.now() + Number(values.seconds) * 1000;
  const start = performance.now();
  let fetched = 0;
  await Promise.all(
    Array.from({ length: Number(values.connections) }, async () => {
      if (values.consumer === "stream") {
        const c = await StreamingFetchConnection.connect("127.0.0.1", port);
        while (performance.now() < end) {
          const got = await c.fetch(req, 0n);
          fetched += got.recordBytes;
        }
        c.close();
        return;
      }
      const c = await RawKafkaConnection.connect("127.0.0.1", port, values.consumer === "reuse");
      while (performance.now() < end) {
        const r = new Reader(await c.request(req));
        readResponseHeader(r, 1);
        const records = readFetchResponse(r, 12).responses[0].partitions[0].records as Uint8Array;
        fetched += records.length;
      }
      c.close();
    }),
  );
  const secs = (performance.now() - start) / 1000;
  child.kill("SIGTERM");
  printTable(`fetch ceiling: canned 16 MiB responses, ${values.connections} connections, ${values.seconds}s`, [{ measure: `${values.consumer} consumer vs canned server`, "MB/s": fetched / 1e6 / secs }]);
}
