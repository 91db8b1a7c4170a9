/**
 * Shared pieces of the bench scripts: a results table printer, JSON output under bench/results/, and a minimal
 * pipelined Kafka request sender over raw TCP (so the load generator costs as little CPU as possible).
 */
import * as fs from "node:fs";
import { connect, type Connection } from "../src/platform/net.ts";
import { concatBytes, Writer } from "../src/protocol/wire.ts";
import { writeRequestHeader } from "../src/protocol/generated/headers.ts";
import { BatchBuilder } from "../src/protocol/record-batch.ts";
import * as path from "node:path";

/** Repository root. */
export const ROOT = path.resolve(import.meta.dirname, "..");

/** Prints rows as an aligned table. */
export function printTable(title: string, rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : v);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  console.log(`\n${title}`);
  console.log(cols.map((c, i) => c.padEnd(width[i])).join("  "));
  console.log(width.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(cols.map((c, i) => cell(r[c]).padEnd(width[i])).join("  "));
}

/** Writes `data` as bench/results/<name>.json with the machine and time. */
export function writeResults(name: string, data: unknown, dir = path.join(ROOT, "bench", "results")): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const os = require("node:os") as typeof import("node:os");
  const doc = { name, when: new Date().toISOString(), machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30) }, runtime: `bun ${process.versions.bun ?? "?"}`, data };
  fs.writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
  return file;
}

/** One request frame (size prefix included) of `apiKey` at `version`, with request header `headerVersion`. */
export function requestFrame(apiKey: number, version: number, headerVersion: number, body: (w: Writer) => void, capacity = 64 * 1024): Uint8Array {
  const w = new Writer(capacity);
  w.reserve(4);
  writeRequestHeader(w, headerVersion, { requestApiKey: apiKey, requestApiVersion: version, correlationId: 1, clientId: "bench" });
  body(w);
  const out = w.finishContiguous().slice();
  new DataView(out.buffer).setInt32(0, out.length - 4);
  return out;
}

/** A record batch of up to `batchBytes` filled with `recordBytes`-sized keyless records (CRC-32C must be initialised). */
export function benchBatch(batchBytes: number, recordBytes: number): { batch: Uint8Array; records: number } {
  const b = new BatchBuilder(batchBytes);
  b.reset({});
  const value = new Uint8Array(recordBytes - 30);
  for (let i = 0; i < value.length; i++) value[i] = (i * 7) & 0xff;
  const now = Date.now();
  let n = 0;
  while (b.append(now, null, value)) n++;
  return { batch: b.finish(), records: n };
}

/**
 * A raw Kafka connection that sends pre-encoded request frames and counts responses, keeping up to `inFlight`
 * requests outstanding. Responses are only framed, not decoded. Runs on the platform sockets (Bun-native on Bun).
 */
export class RawKafkaConnection {
  private conn!: Connection;
  private parts: Uint8Array[] = [];
  private partsLength = 0;
  private need = -1;
  private waiters: ((frame: Uint8Array) => void)[] = [];
  /** Reused receive buffer (reuse mode only) and how many bytes of the current frame it holds. */
  private buf = new Uint8Array(0);
  private have = 0;

  /**
   * Connects to host:port. With `reuse`, each response is assembled in one per-connection buffer that is reused:
   * a response body is valid only until the next request is sent, and only one request may be outstanding. This
   * spares a large consumer a fresh allocation (zero fill and page faults) and a second copy per response.
   */
  static async connect(host: string, port: number, reuse = false): Promise<RawKafkaConnection> {
    const rc = new RawKafkaConnection();
    await connect(host, port, (conn) => {
      rc.conn = conn;
      return { onData: (b) => (reuse ? rc.onDataReuse(b) : rc.onData(b)), onDrain: () => {}, onClose: () => {} };
    });
    return rc;
  }

  private onDataReuse(b: Uint8Array): void {
    let at = 0;
    for (;;) {
      const want = this.need < 0 ? 4 : this.need;
      if (this.buf.length < want) {
        const grown = new Uint8Array(Math.max(want, 64 * 1024));
        grown.set(this.buf.subarray(0, this.have));
        this.buf = grown;
      }
      const n = Math.min(want - this.have, b.length - at);
      this.buf.set(b.subarray(at, at + n), this.have);
      this.have += n;
      at += n;
      if (this.have < want) return;
      if (this.need < 0) {
        this.need = new DataView(this.buf.buffer, this.buf.byteOffset).getInt32(0) + 4;
        continue;
      }
      const frame = this.buf.subarray(4, this.need);
      this.have = 0;
      this.need = -1;
      const waiter = this.waiters.shift();
      if (waiter === undefined || this.waiters.length > 0) throw new Error("reuse mode allows one outstanding request");
      waiter(frame);
      if (at === b.length) return;
    }
  }

  private join(): Uint8Array {
    if (this.parts.length === 1) return this.parts[0];
    const all = concatBytes(this.parts);
    this.parts = [all];
    return all;
  }

  private onData(b: Uint8Array): void {
    // Collect chunks and join once per frame: large responses arrive in many chunks.
    this.parts.push(b);
    this.partsLength += b.length;
    for (;;) {
      if (this.need < 0) {
        if (this.partsLength < 4) return;
        const head = this.join();
        this.need = new DataView(head.buffer, head.byteOffset).getInt32(0) + 4;
      }
      if (this.partsLength < this.need) return;
      const all = this.join();
      const frame = all.subarray(4, this.need);
      const rest = all.subarray(this.need);
      this.parts = rest.length > 0 ? [rest] : [];
      this.partsLength = rest.length;
      this.need = -1;
      this.waiters.shift()?.(frame);
    }
  }

  /** Sends one frame (size prefix included) and resolves with the response body. */
  request(frame: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.conn.write([frame]);
    });
  }

  /** Sends one frame (size prefix included) that gets no response (an acks=0 Produce). */
  send(frame: Uint8Array): void {
    this.conn.write([frame]);
  }

  /** Closes the socket. */
  close(): void {
    this.conn.close();
  }
}

/** Percentile of a sorted array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
