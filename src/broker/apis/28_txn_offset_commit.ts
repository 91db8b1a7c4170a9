/**
 * TxnOffsetCommit (key 28), versions 0-5. Commits consumer offsets as part of a producer's transaction: the group
 * coordinator writes them to `__consumer_offsets` in a transactional batch and they become the group's committed
 * offsets only when the transaction commits (dropped if it aborts). The group's `__consumer_offsets` partition must
 * be in the transaction (AddOffsetsToTxn), as Kafka 4 verifies. v2 committed leader epoch; v3 flexible, with member
 * id, generation and group instance id (checked like an OffsetCommit when given); v4 changes only error handling;
 * v5 is transaction version 2, where this request also adds the partition to the transaction.
 */
import type {
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
  TxnOffsetCommitResponsePartition,
  TxnOffsetCommitResponseTopic,
} from "../../protocol/generated/28_txn_offset_commit.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { OffsetToCommit } from "../../group/group-requests.ts";
import { OFFSETS_TOPIC } from "../../group/offsets-topic-storage.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { verifyOffsetsPartitionRemotely } from "../remote-txn-verification.ts";

/** First TxnOffsetCommit version with transaction version 2 semantics (implicit AddOffsetsToTxn). */
export const TXN_OFFSET_COMMIT_IMPLICIT_ADD_VERSION = 5;

/** Builds the TxnOffsetCommit handler. */
export function txnOffsetCommitHandler(b: Broker): ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse> {
  return {
    apiKey: 28,
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, req) {
      const topics: TxnOffsetCommitResponseTopic[] = [];
      const offsets: OffsetToCommit[] = [];
      const slots: TxnOffsetCommitResponsePartition[] = [];
      for (const t of req.topics) {
        const out: TxnOffsetCommitResponseTopic = { name: t.name, partitions: [] };
        topics.push(out);
        for (const p of t.partitions) {
          const res: TxnOffsetCommitResponsePartition = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE };
          out.partitions.push(res);
          if (b.partition(t.name, p.partitionIndex) === undefined) {
            res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            continue;
          }
          offsets.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.committedMetadata });
          slots.push(res);
        }
      }
      const setAll = (code: number) => {
        for (const s of slots) s.errorCode = code;
        return { throttleTimeMs: 0, topics };
      };
      if (offsets.length === 0) return { throttleTimeMs: 0, topics };
      if (req.groupId === "") return setAll(ErrorCode.INVALID_GROUP_ID);
      // Transactions: the group's __consumer_offsets partition must be in the producer's ongoing transaction.
      const tp = { topic: OFFSETS_TOPIC, partition: b.groups.partitionFor(req.groupId) };
      let code: number;
      if (!b.txns.ownsTransactionalId(req.transactionalId)) {
        // Cluster mode: another broker coordinates this transaction; it is asked (added from v5, as here).
        code = await verifyOffsetsPartitionRemotely(b, req.transactionalId, req.producerId, req.producerEpoch, tp, ctx.apiVersion < TXN_OFFSET_COMMIT_IMPLICIT_ADD_VERSION);
      } else if (ctx.apiVersion >= TXN_OFFSET_COMMIT_IMPLICIT_ADD_VERSION) {
        code = await b.txns.addPartitions(req.transactionalId, req.producerId, req.producerEpoch, [tp]);
      } else {
        const v = b.txns.verifyPartitions(req.transactionalId, req.producerId, req.producerEpoch, [tp]);
        code = v.errorCode !== ErrorCode.NONE ? v.errorCode : v.partitionErrors[0];
      }
      if (code === ErrorCode.PRODUCER_FENCED) code = ErrorCode.INVALID_PRODUCER_EPOCH;
      if (code !== ErrorCode.NONE) return setAll(code);
      const codes = await b.groups.commitTransactionalOffsets({
        groupId: req.groupId,
        producerId: req.producerId,
        producerEpoch: req.producerEpoch,
        generationId: req.generationId ?? -1,
        memberId: req.memberId ?? "",
        groupInstanceId: req.groupInstanceId ?? null,
        offsets,
      });
      for (let i = 0; i < slots.length; i++) slots[i].errorCode = codes[i];
      return { throttleTimeMs: 0, topics };
    },
  };
}
