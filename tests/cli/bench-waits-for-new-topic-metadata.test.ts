/**
 * `runnel bench` against a broker whose metadata lags behind topic creation, as Apache Kafka's does (its controller
 * creates a topic asynchronously: Metadata answers UNKNOWN_TOPIC_OR_PARTITION for a moment after CreateTopics).
 * A proxy in front of a test broker hides the new topic from the first Metadata answers after its creation; the
 * bench waits through them and produces every record.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { startTestBroker } from "../support/broker.ts";
import { runnel } from "./run-cli.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { API_CODECS, responseHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readResponseHeader, writeResponseHeader } from "../../src/protocol/generated/headers.ts";

const TOPIC = "late-topic";
/** Metadata answers that hide the topic after it was created. */
const HIDDEN_ANSWERS = 3;

/** Splits a byte stream into size-prefixed frames. */
function framer(onFrame: (frame: Buffer) => void): (b: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (b) => {
    buf = Buffer.concat([buf, b]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const n = buf.readInt32BE(0);
      onFrame(buf.subarray(4, 4 + n));
      buf = buf.subarray(4 + n);
    }
  };
}

/** A proxy to `port` that rewrites Metadata answers: brokers point at the proxy; the topic hidden for a while. */
async function lagProxy(port: number): Promise<{ port: number; hidden: () => number; close: () => void }> {
  let created = false;
  let hidden = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port });
    sockets.push(client, upstream);
    const asked = new Map<number, { apiKey: number; version: number }>();
    client.on("data", framer((f) => {
      asked.set(f.readInt32BE(4), { apiKey: f.readInt16BE(0), version: f.readInt16BE(2) });
      upstream.write(Buffer.concat([sizeOf(f.length), f]));
    }));
    upstream.on("data", framer((f) => {
      const req = asked.get(f.readInt32BE(0));
      if (req?.apiKey === 19) created = true;
      if (req?.apiKey !== 3) return void client.write(Buffer.concat([sizeOf(f.length), f]));
      const hv = responseHeaderVersion(3, req.version);
      const r = new Reader(f);
      const header = readResponseHeader(r, hv);
      const md: any = API_CODECS[3]!.readResponse(r, req.version);
      for (const b of md.brokers) b.port = (server.address() as net.AddressInfo).port;
      if (created && hidden < HIDDEN_ANSWERS && md.topics.some((t: any) => t.name === TOPIC)) {
        hidden++;
        for (const t of md.topics) if (t.name === TOPIC) Object.assign(t, { errorCode: 3, partitions: [] });
      }
      const w = new Writer(1024);
      w.reserve(4);
      writeResponseHeader(w, hv, header);
      API_CODECS[3]!.writeResponse(w, req.version, md);
      const out = w.finishContiguous().slice();
      new DataView(out.buffer).setInt32(0, out.length - 4);
      client.write(out);
    }));
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      a.on("close", () => b.destroy());
      a.on("error", () => b.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    hidden: () => hidden,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function sizeOf(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

test("runnel bench produce waits while Metadata answers UNKNOWN_TOPIC_OR_PARTITION for the topic it just created", async () => {
  const broker = await startTestBroker();
  const proxy = await lagProxy(broker.port);
  try {
    const r = await runnel(["bench", "produce", "-t", TOPIC, "-P", "2", "-n", "500", "-s", "100", "--acks", "1", "--json", "--progress-ms", "0", "-b", `127.0.0.1:${proxy.port}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(proxy.hidden(), HIDDEN_ANSWERS, "the bench saw the topic unknown after creating it");
    assert.equal(JSON.parse(r.stdout).produce.records, 500);
  } finally {
    proxy.close();
    await broker.stop();
  }
});
