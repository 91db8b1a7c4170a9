/** A raw Fetch (v12) of partition 0 of one topic from offset 0, and the records value of its answer as one buffer. */
import assert from "node:assert/strict";
import { concatBytes } from "../../src/protocol/wire.ts";

/** Fetch v12 request body: partition 0 of `topic` from offset 0, no wait, up to 16 MiB. */
export function fetchFromStartBody(topic: string) {
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 24, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 24 }] }],
    forgottenTopicsData: [], rackId: "",
  };
}

/** The records value of partition 0 of the only topic in a Fetch answer, as one plain buffer (asserts no error). */
export function recordsOf(res: any): Uint8Array {
  const p = res.responses[0].partitions[0];
  assert.equal(p.errorCode, 0, `fetch error ${p.errorCode}`);
  const r = p.records as Uint8Array | Uint8Array[] | null;
  // A plain Uint8Array copy whichever client decoded it (the raw client's are Buffers).
  return new Uint8Array(r === null ? new Uint8Array(0) : r instanceof Uint8Array ? r : concatBytes(r));
}
