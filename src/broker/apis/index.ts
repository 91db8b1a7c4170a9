/**
 * The broker's API table: one handler module per API key. ApiVersions is built from this table, so an API
 * without a handler is never advertised.
 */
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { produceHandler } from "./00_produce.ts";
import { fetchHandler } from "./01_fetch.ts";
import { listOffsetsHandler } from "./02_list_offsets.ts";
import { metadataHandler } from "./03_metadata.ts";
import { apiVersionsHandler } from "./18_api_versions.ts";
import { createTopicsHandler } from "./19_create_topics.ts";
import { deleteTopicsHandler } from "./20_delete_topics.ts";
import { deleteRecordsHandler } from "./21_delete_records.ts";
import { initProducerIdHandler } from "./22_init_producer_id.ts";
import { offsetForLeaderEpochHandler } from "./23_offset_for_leader_epoch.ts";
import { describeConfigsHandler } from "./32_describe_configs.ts";
import { alterConfigsHandler } from "./33_alter_configs.ts";
import { describeLogDirsHandler } from "./35_describe_log_dirs.ts";
import { createPartitionsHandler } from "./37_create_partitions.ts";
import { electLeadersHandler } from "./43_elect_leaders.ts";
import { incrementalAlterConfigsHandler } from "./44_incremental_alter_configs.ts";
import { describeClusterHandler } from "./60_describe_cluster.ts";
import { describeProducersHandler } from "./61_describe_producers.ts";
import { API_CODECS } from "../../protocol/generated/index.ts";
import { offsetCommitHandler } from "./08_offset_commit.ts";
import { offsetFetchHandler } from "./09_offset_fetch.ts";
import { findCoordinatorHandler } from "./10_find_coordinator.ts";
import { joinGroupHandler } from "./11_join_group.ts";
import { heartbeatHandler } from "./12_heartbeat.ts";
import { leaveGroupHandler } from "./13_leave_group.ts";
import { syncGroupHandler } from "./14_sync_group.ts";
import { describeGroupsHandler } from "./15_describe_groups.ts";
import { listGroupsHandler } from "./16_list_groups.ts";
import { deleteGroupsHandler } from "./42_delete_groups.ts";
import { offsetDeleteHandler } from "./47_offset_delete.ts";
import { addPartitionsToTxnHandler } from "./24_add_partitions_to_txn.ts";
import { addOffsetsToTxnHandler } from "./25_add_offsets_to_txn.ts";
import { endTxnHandler } from "./26_end_txn.ts";
import { txnOffsetCommitHandler } from "./28_txn_offset_commit.ts";
import { writeTxnMarkersHandler } from "./27_write_txn_markers.ts";
import { describeTopicPartitionsHandler } from "./75_describe_topic_partitions.ts";
import { describeTransactionsHandler } from "./65_describe_transactions.ts";
import { listTransactionsHandler } from "./66_list_transactions.ts";
import { afterOffsetsTopic } from "./offsets-topic-first.ts";
import { consumerGroupHeartbeatHandler } from "./68_consumer_group_heartbeat.ts";
import { consumerGroupDescribeHandler } from "./69_consumer_group_describe.ts";
import { saslHandshakeHandler } from "./17_sasl_handshake.ts";
import { saslAuthenticateHandler } from "./36_sasl_authenticate.ts";
import { describeUserScramCredentialsHandler } from "./50_describe_user_scram_credentials.ts";
import { alterUserScramCredentialsHandler } from "./51_alter_user_scram_credentials.ts";
import { describeAclsHandler } from "./29_describe_acls.ts";
import { createAclsHandler } from "./30_create_acls.ts";
import { deleteAclsHandler } from "./31_delete_acls.ts";
import { authorizedHandler } from "./authorized-handler.ts";
import { describeClientQuotasHandler } from "./48_describe_client_quotas.ts";
import { alterClientQuotasHandler } from "./49_alter_client_quotas.ts";
import { quotaThrottledHandler } from "./quota-throttled-handler.ts";
import { fileSlicedFetchHandler } from "./fetch-file-slices.ts";
import { requestQuotaHandler } from "./request-quota-handler.ts";
import { mutationQuotaHandler, type MutationQuotaView } from "./mutation-quota-handler.ts";
import { alterPartitionReassignmentsHandler } from "./45_alter_partition_reassignments.ts";
import { listPartitionReassignmentsHandler } from "./46_list_partition_reassignments.ts";

/** Extra handler factories registered by other layers (groups, transactions). */
export type HandlerFactory = (b: Broker) => ApiHandler;

/** Builds every handler, indexed by API key; asserts each one's versions lie inside the codec's. */
export function buildHandlers(b: Broker, extra: readonly HandlerFactory[] = []): ApiHandler[] {
  const table: ApiHandler[] = [];
  const list: ApiHandler[] = [
    produceHandler(b),
    fetchHandler(b),
    listOffsetsHandler(b),
    metadataHandler(b),
    apiVersionsHandler(() => table),
    createTopicsHandler(b),
    deleteTopicsHandler(b),
    deleteRecordsHandler(b),
    initProducerIdHandler(b),
    offsetForLeaderEpochHandler(b),
    describeConfigsHandler(b),
    alterConfigsHandler(b),
    describeLogDirsHandler(b),
    createPartitionsHandler(b),
    electLeadersHandler(b),
    incrementalAlterConfigsHandler(b),
    describeClusterHandler(b),
    describeProducersHandler(b),
    ...[offsetFetchHandler, findCoordinatorHandler, heartbeatHandler, describeGroupsHandler, listGroupsHandler].map((f) => f(b)),
    ...[offsetCommitHandler, joinGroupHandler, leaveGroupHandler, syncGroupHandler, deleteGroupsHandler, offsetDeleteHandler, txnOffsetCommitHandler].map((f) => afterOffsetsTopic(b, f(b))),
    ...[addPartitionsToTxnHandler, addOffsetsToTxnHandler, endTxnHandler, describeTransactionsHandler, listTransactionsHandler].map((f) => f(b)),
    writeTxnMarkersHandler(b),
    describeTopicPartitionsHandler(b),
    afterOffsetsTopic(b, consumerGroupHeartbeatHandler(b)),
    consumerGroupDescribeHandler(b),
    saslHandshakeHandler(),
    saslAuthenticateHandler(),
    describeUserScramCredentialsHandler(b.scramCredentials),
    alterUserScramCredentialsHandler(b.scramCredentials),
    describeAclsHandler(b.acls),
    createAclsHandler(b.acls),
    deleteAclsHandler(b.acls),
    describeClientQuotasHandler(b.clientQuotas),
    alterClientQuotasHandler(b.clientQuotas),
    alterPartitionReassignmentsHandler(b),
    listPartitionReassignmentsHandler(b),
    ...extra.map((f) => f(b)),
  ];
  const mutationView: MutationQuotaView = {
    partitionCount: (name, idHex) => (name !== null ? b.topicsByName.get(name) : idHex !== null ? b.topicsById.get(idHex) : undefined)?.partitions.length,
    defaultPartitions: () => b.config.num("num.partitions"),
  };
  for (const h of list) {
    const codec = API_CODECS[h.apiKey];
    if (codec === undefined) throw new Error(`handler for API ${h.apiKey} has no codec`);
    if (h.minVersion < codec.minVersion || h.maxVersion > codec.maxVersion) {
      throw new Error(`handler ${codec.name} serves ${h.minVersion}-${h.maxVersion}, codec has ${codec.minVersion}-${codec.maxVersion}`);
    }
    if (table[h.apiKey] !== undefined) throw new Error(`two handlers for API ${h.apiKey}`);
    const limited = h.apiKey === 0 || h.apiKey === 1 ? quotaThrottledHandler(h, b.clientQuotas, b.quotaRates, b.clock)
      : h.apiKey === 19 || h.apiKey === 20 || h.apiKey === 37 ? mutationQuotaHandler(h, b.clientQuotas, b.mutationRates, b.clock, mutationView)
      : h;
    const authorized = b.authorizer === null ? limited : authorizedHandler(limited, b.authorizer, (id) => b.topicsById.get(id)?.name);
    const served = requestQuotaHandler(authorized, b.clientQuotas, b.quotaRates, b.clock);
    table[h.apiKey] = h.apiKey === 1 ? fileSlicedFetchHandler(served) : served;
  }
  return table;
}
