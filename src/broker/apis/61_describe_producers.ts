/**
 * DescribeProducers (key 61), version 0 (flexible): the active idempotent and transactional producers of each named
 * partition (id, epoch, last sequence, last timestamp, first offset of the ongoing transaction or -1), as
 * `kafka-transactions describe-producers` and `find-hanging` read them, with the coordinator epoch of the producer's
 * last transaction marker here (-1: none); a producer known here only by its markers is listed with last sequence -1
 * and the last marker's timestamp, as Kafka lists it. UNKNOWN_TOPIC_OR_PARTITION for a partition this broker does
 * not have.
 */
import type { DescribeProducersRequest, DescribeProducersResponse } from "../../protocol/generated/61_describe_producers.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the DescribeProducers handler. */
export function describeProducersHandler(b: Pick<Broker, "partition">): ApiHandler<DescribeProducersRequest, DescribeProducersResponse> {
  return {
    apiKey: 61,
    minVersion: 0,
    maxVersion: 0,
    handle(_ctx, req) {
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((partitionIndex) => {
            const p = b.partition(t.name, partitionIndex);
            if (p === undefined) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, activeProducers: [] };
            return {
              partitionIndex,
              errorCode: ErrorCode.NONE,
              errorMessage: null,
              activeProducers: p.producers.entries().map((e) => ({
                producerId: e.producerId,
                producerEpoch: e.epoch,
                lastSequence: e.lastSequence,
                lastTimestamp: BigInt(e.timestamp),
                coordinatorEpoch: e.coordinatorEpoch ?? -1,
                currentTxnStartOffset: e.currentTxnFirstOffset ?? -1n,
              })),
            };
          }),
        })),
      };
    },
  };
}
