/**
 * The API versions Runnel's client speaks, and the choice of the version to use with a broker: the highest
 * version inside both the client's range and the range the broker advertised in ApiVersions.
 */
import { API_CODECS, ApiKey } from "../protocol/generated/index.ts";

/** An inclusive version range. */
export interface VersionRange {
  /** Lowest version. */
  min: number;
  /** Highest version. */
  max: number;
}

/**
 * Highest versions the client caps below the generated codec's maximum: OffsetCommit/OffsetFetch v10 address
 * topics by id only, which the client does not do for group offsets.
 */
const CLIENT_MAX_OVERRIDES: ReadonlyMap<number, number> = new Map([
  [ApiKey.OffsetCommit, 9],
  [ApiKey.OffsetFetch, 9],
]);

/** The APIs the client sends. */
const CLIENT_APIS: readonly number[] = [
  ApiKey.Produce,
  ApiKey.Fetch,
  ApiKey.ListOffsets,
  ApiKey.Metadata,
  ApiKey.OffsetCommit,
  ApiKey.OffsetFetch,
  ApiKey.FindCoordinator,
  ApiKey.JoinGroup,
  ApiKey.Heartbeat,
  ApiKey.LeaveGroup,
  ApiKey.SyncGroup,
  ApiKey.DescribeGroups,
  ApiKey.ListGroups,
  ApiKey.ApiVersions,
  ApiKey.CreateTopics,
  ApiKey.DeleteTopics,
  ApiKey.DeleteRecords,
  ApiKey.InitProducerId,
  ApiKey.DescribeConfigs,
  ApiKey.CreatePartitions,
  ApiKey.DeleteGroups,
  ApiKey.ElectLeaders,
  ApiKey.IncrementalAlterConfigs,
  ApiKey.OffsetDelete,
  ApiKey.DescribeCluster,
  ApiKey.ConsumerGroupDescribe,
  // SASL login and security administration (runnel user, runnel acl).
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
  ApiKey.DescribeAcls,
  ApiKey.CreateAcls,
  ApiKey.DeleteAcls,
  ApiKey.DescribeUserScramCredentials,
  ApiKey.AlterUserScramCredentials,
  ApiKey.DescribeClientQuotas,
  ApiKey.AlterClientQuotas,
  // Partition reassignment (runnel cluster reassign, drain).
  ApiKey.AlterPartitionReassignments,
  ApiKey.ListPartitionReassignments,
  // Inter-broker: a transaction coordinator's markers to the leaders of the transaction's partitions, and a
  // partition leader's verification of a transactional write at its coordinator.
  ApiKey.WriteTxnMarkers,
  ApiKey.AddPartitionsToTxn,
];

/** The client's version range for `apiKey`, or undefined when the client never sends it. */
export function clientVersionRange(apiKey: number): VersionRange | undefined {
  if (!CLIENT_APIS.includes(apiKey)) return undefined;
  const codec = API_CODECS[apiKey];
  if (codec === undefined) return undefined;
  let max = codec.latestVersionUnstable ? codec.maxVersion - 1 : codec.maxVersion;
  const cap = CLIENT_MAX_OVERRIDES.get(apiKey);
  if (cap !== undefined) max = Math.min(max, cap);
  return { min: codec.minVersion, max };
}

/** Highest ApiVersions version the client sends first (it falls back to what the broker names). */
export function clientApiVersionsMax(): number {
  return clientVersionRange(ApiKey.ApiVersions)!.max;
}

/** A broker's advertised version range per API (the entries of its ApiVersions answer). */
export type BrokerApiVersions = readonly { apiKey: number; minVersion: number; maxVersion: number }[];

/**
 * The negotiated version per API key (-1 where client and broker share no version), from the broker's advertised
 * ranges.
 */
export function negotiateVersions(broker: BrokerApiVersions): Int16Array {
  let highestKey = 0;
  for (const k of CLIENT_APIS) highestKey = Math.max(highestKey, k);
  const out = new Int16Array(highestKey + 1).fill(-1);
  for (const b of broker) {
    if (b.apiKey < 0 || b.apiKey > highestKey) continue;
    const mine = clientVersionRange(b.apiKey);
    if (mine === undefined) continue;
    const hi = Math.min(mine.max, b.maxVersion);
    const lo = Math.max(mine.min, b.minVersion);
    out[b.apiKey] = hi >= lo ? hi : -1;
  }
  return out;
}
