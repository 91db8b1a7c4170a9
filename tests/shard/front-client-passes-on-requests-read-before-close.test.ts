/**
 * A front passes on the requests it read from a client even when the client's connection closes first (as Kafka
 * appends a produce it has read, acks=0 included): the client's shard channels close only once those sends are
 * done. Before, an acks=0 Produce whose channel was still opening when the client closed was dropped (a sharded
 * node lost a closing acks=0 producer's records in about a third of runs).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RequestContext } from "../../src/broker/api-handler.ts";
import type { BrokerChannel, RequestOptions } from "../../src/client/connection.ts";
import { FrontClient } from "../../src/shard/front/front-client.ts";
import type { FrontShards } from "../../src/shard/front/front-shards.ts";

/** A channel that records what it is asked to send and refuses everything once closed. */
function recordingChannel(sent: unknown[]): BrokerChannel {
  let closed = false;
  return {
    nodeId: 0,
    address: "shard-0:9092",
    request<T>(_apiKey: number, body: unknown, opts?: RequestOptions): Promise<T> {
      if (closed) return Promise.reject(new Error("connection to shard-0:9092 closed by the client"));
      sent.push(body);
      return Promise.resolve((opts?.noResponse ? undefined : { ok: true }) as T);
    },
    version: () => 9,
    inFlight: () => 0,
    get closed() {
      return closed;
    },
    close() {
      closed = true;
    },
  };
}

test("requests read before the client closed reach the shard; the channel closes after them", async () => {
  const sent: unknown[] = [];
  const channel = recordingChannel(sent);
  let opened!: (ch: BrokerChannel) => void;
  const shards: FrontShards = { count: 1, metadata: {} as FrontShards["metadata"], open: () => new Promise((resolve) => (opened = resolve)) };
  const client = new FrontClient(shards, { principal: "User:ANONYMOUS", listenerName: "PLAINTEXT", securityProtocol: "PLAINTEXT", remote: "127.0.0.1:5000", clientId: "p" });
  const ctx = { header: { requestApiKey: 0, requestApiVersion: 9, correlationId: 1, clientId: "p" }, apiVersion: 9 } as unknown as RequestContext;
  // An acks=0 Produce is being passed on while its channel opens; then the client's connection closes.
  const produce = client.send(ctx, 0, { acks: 0, topicData: [] }, { noResponse: true });
  client.close();
  opened(channel);
  await produce;
  assert.deepEqual(sent, [{ acks: 0, topicData: [] }], "the produce read before the close was passed on");
  assert.equal(channel.closed, true, "and then the channel closed");
});
