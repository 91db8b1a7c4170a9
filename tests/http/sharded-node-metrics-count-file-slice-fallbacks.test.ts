/**
 * `/metrics` of a 2-shard node counts what its fronts did with Fetch records as file slices (docs/sharding.md):
 * `runnel_fetch_file_slices_served_total` for slices served from a front's map, and
 * `runnel_fetch_file_slice_fallbacks_total` for a partition the front fetched again as bytes because the slice
 * could not be mapped as named. The fallback is made deterministic as in tests/shard/front-fetch-reads-file-slices:
 * the shard reads (maps) the segment through the JSON API, another file is renamed over the segment's path, and a
 * Kafka Fetch through a front then names the old file, which the front cannot map at that path.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Producer } from "../../src/client/producer.ts";
import { httpJson } from "../support/http-broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { fetchFromStartBody, recordsOf } from "../support/fetch-from-start.ts";
import { startShardedHttpNode } from "../support/sharded-http-node.ts";

const RECORDS = 40;

/** The value of the unlabelled counter `name` on the node's page (which must have it). */
async function counter(url: string, name: string): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, new RegExp(`^# TYPE ${name} counter$`, "m"), `${name} is on the page`);
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  assert.ok(m !== null, `one unlabelled series of ${name}`);
  return Number(m[1]);
}

test("a sharded node's /metrics counts fetch file slices served and fallbacks to copied bytes", { timeout: 180_000 }, async () => {
  const node = await startShardedHttpNode(2);
  const raw: RawClient[] = [];
  try {
    const { url } = node;
    for (const topic of ["served", "replaced"]) assert.equal((await httpJson(`${url}/v1/topics`, "POST", { name: topic, partitions: 1 })).status, 201);
    const p = new Producer({ bootstrap: node.node.bootstrap, acks: "all" });
    await p.connect();
    for (const topic of ["served", "replaced"]) await Promise.all(Array.from({ length: RECORDS }, (_, i) => p.send({ topic, key: `k${i}`, value: `${topic}-${i}-`.padEnd(4000, "x") })));
    await p.close();
    assert.equal(await counter(url, "runnel_fetch_file_slice_fallbacks_total"), 0);

    // Served: a Fetch through a front reads the records from its map of the segment.
    const served = await counter(url, "runnel_fetch_file_slices_served_total");
    raw.push(await RawClient.connect(node.node.port));
    assert.ok(recordsOf(await raw[0].request(1, 12, fetchFromStartBody("served"))).length > 100_000);
    assert.ok((await counter(url, "runnel_fetch_file_slices_served_total")) > served, "a slice served from a front's map");

    // Fallback: the shard maps the segment (a read through the JSON API runs in the shard), then another file is
    // renamed over its path; the shard still names the old file, which no front can map at that path any more.
    const seg = path.join(node.dir, "replaced-0", "00000000000000000000.log");
    const original = new Uint8Array(fs.readFileSync(seg));
    const read = await httpJson(`${url}/v1/topics/replaced/messages?partition=0&offset=0&limit=1`);
    assert.equal(read.status, 200, JSON.stringify(read.body));
    const other = new Uint8Array(original);
    other.fill(0x5a, 61); // the first batch header stays, what follows differs
    fs.writeFileSync(`${seg}.swap`, other);
    fs.renameSync(`${seg}.swap`, seg);
    raw.push(await RawClient.connect(node.node.port));
    const got = recordsOf(await raw[1].request(1, 12, fetchFromStartBody("replaced")));
    assert.ok(got.length > 100_000 && Buffer.from(original.subarray(0, got.length)).equals(got), "the client got the records the shard named, not the new file's bytes");
    assert.equal(await counter(url, "runnel_fetch_file_slice_fallbacks_total"), 1);
  } finally {
    for (const c of raw) c.close();
    await node.stop();
  }
});
