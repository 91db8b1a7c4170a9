/**
 * The listener's shared response writer after responses that failed to encode: a handler's bad value inside a tagged
 * field (here an int64 given as a number, inside Fetch's tagged DivergingEpoch) throws while the field's sized section
 * is open; the broker answers that request with UNKNOWN_SERVER_ERROR and goes on with the same writer. However many
 * such failures came before, a good response with tagged fields is still encoded as the handler returned it (the
 * writer once kept every abandoned section open, and from the 33rd failure on refused every tagged field's section).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RecordingConnection } from "../support/recording-connection.ts";
import { kafkaConnection, responseWriter, type ConnectionOptions } from "../../src/broker/connection.ts";
import { RequestBudget } from "../../src/broker/request-budget.ts";
import { ConnectionTimeouts } from "../../src/broker/connection-timeouts.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import type { ApiHandler } from "../../src/broker/api-handler.ts";
import { concatBytes, Reader, WRITER_MAX_SIZED_NESTING } from "../../src/protocol/wire.ts";
import { encodeRequestFrame } from "../../src/protocol/frame-encoding.ts";
import { Writer } from "../../src/protocol/wire.ts";
import { ApiKey, type FetchResponse, readFetchResponse, responseHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readResponseHeader } from "../../src/protocol/generated/headers.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

const FETCH_VERSION = 16;

/** A Fetch answer with one partition whose DivergingEpoch (a tagged field) has the given end offset. */
function fetchAnswer(endOffset: unknown): FetchResponse {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [{
      topic: "",
      topicId: new Uint8Array(16).fill(1),
      partitions: [{
        partitionIndex: 0,
        errorCode: 0,
        highWatermark: 5n,
        lastStableOffset: 5n,
        logStartOffset: 0n,
        divergingEpoch: { epoch: 3, endOffset: endOffset as bigint },
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: null,
      }],
    }],
    nodeEndpoints: [],
  };
}

test("a response with tagged fields encodes as returned after many responses failed inside a tagged field", () => {
  const failures = WRITER_MAX_SIZED_NESTING + 8;
  let served = 0;
  const logged: string[] = [];
  const handlers: (ApiHandler | undefined)[] = [];
  // The first answers carry a number where the schema wants a bigint (a handler's bug); the last one is good.
  handlers[ApiKey.Fetch] = { apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: 17, handle: () => fetchAnswer(served++ < failures ? 7 : 7n) };
  const clock = new ManualClock();
  const opts: ConnectionOptions = {
    handlers,
    maxRequestBytes: 1 << 20,
    maxInFlight: 1000,
    budget: new RequestBudget(1000, -1),
    timeouts: new ConnectionTimeouts(clock, -1, -1),
    writer: responseWriter(),
    monotonicMs: () => clock.monotonicMs(),
    log: (_level, msg) => logged.push(msg),
  };
  const socket = new RecordingConnection();
  const h = kafkaConnection(socket, opts);
  const client = new Writer(1024);
  for (let i = 0; i <= failures; i++) {
    h.onData(concatBytes(encodeRequestFrame(client, ApiKey.Fetch, FETCH_VERSION, 100 + i, "t", {})).slice());
  }
  assert.equal(socket.closed, false);
  assert.equal(socket.writes.length, failures + 1, "every request answered");
  const decoded = socket.writes.map((chunks, i) => {
    const bytes = concatBytes(chunks);
    const r = new Reader(bytes);
    assert.equal(r.int32(), bytes.length - 4);
    assert.equal(readResponseHeader(r, responseHeaderVersion(ApiKey.Fetch, FETCH_VERSION)).correlationId, 100 + i);
    return readFetchResponse(r, FETCH_VERSION);
  });
  const last = decoded[failures].responses[0]?.partitions[0];
  assert.equal(decoded[failures].errorCode, ErrorCode.NONE, `the good response was not sent as returned: ${logged.at(-1)}`);
  assert.deepStrictEqual(last.divergingEpoch, { epoch: 3, endOffset: 7n });
  for (const d of decoded.slice(0, failures)) assert.equal(d.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR);
  assert.equal(logged.filter((m) => m.includes("encoding Fetch v16 response failed")).length, failures);
  h.onClose();
});
