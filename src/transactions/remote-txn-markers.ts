/**
 * Markers for partitions another broker leads (cluster mode): the coordinator sends them to that leader as a
 * WriteTxnMarkers request over the inter-broker listener, and the leader appends them as it appends its own
 * (see `writeLocalMarker`). A partition answered with an error, or a request that fails, is retried by the
 * coordinator with the rest of the transaction's markers.
 */
import type { BrokerChannel } from "../client/connection.ts";
import type { WriteTxnMarkersRequest, WriteTxnMarkersResponse } from "../protocol/generated/27_write_txn_markers.ts";
import { ApiKey } from "../protocol/generated/index.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { TransactionLogger } from "./transaction-config.ts";
import type { TopicPartition } from "./transaction-state.ts";
import type { RemoteMarkerSender, TxnMarkerRequest } from "./txn-markers.ts";

/** The WriteTxnMarkers request body for one transaction's markers. */
export function writeTxnMarkersRequest(req: TxnMarkerRequest): WriteTxnMarkersRequest {
  const byTopic = new Map<string, number[]>();
  for (const tp of req.partitions) {
    const list = byTopic.get(tp.topic) ?? [];
    list.push(tp.partition);
    byTopic.set(tp.topic, list);
  }
  return {
    markers: [
      {
        producerId: req.producerId,
        producerEpoch: req.producerEpoch,
        transactionResult: req.commit,
        coordinatorEpoch: req.coordinatorEpoch,
        transactionVersion: 0,
        topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
      },
    ],
  };
}

/** A {@link RemoteMarkerSender} over `channelTo(leader)`, a connection to that broker's inter-broker listener. */
export function remoteMarkerSender(channelTo: (nodeId: number) => BrokerChannel, log: TransactionLogger): RemoteMarkerSender {
  return async (leader: number, req: TxnMarkerRequest): Promise<TopicPartition[]> => {
    const res = await channelTo(leader).request<WriteTxnMarkersResponse>(ApiKey.WriteTxnMarkers, writeTxnMarkersRequest(req));
    const done = new Set<string>();
    for (const m of res.markers) {
      if (m.producerId !== req.producerId) continue;
      for (const t of m.topics) {
        for (const p of t.partitions) {
          if (p.errorCode === ErrorCode.NONE) done.add(`${t.name}\u0000${p.partitionIndex}`);
          else log.warn(`transaction marker for ${t.name}-${p.partitionIndex} at broker ${leader} failed with error ${p.errorCode}`);
        }
      }
    }
    return req.partitions.filter((tp) => !done.has(`${tp.topic}\u0000${tp.partition}`));
  };
}
