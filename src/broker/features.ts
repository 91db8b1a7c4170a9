/**
 * Feature flags (KIP-584) this broker reports in ApiVersions v3+ (SupportedFeatures, FinalizedFeatures), which
 * Admin.describeFeatures and kafka-features read. A feature is listed only where Runnel implements what its levels
 * mean: `metadata.version` at Kafka 4.3-IV0, the protocol generation Runnel serves. `transaction.version` is not
 * listed (clients then keep transaction version 1), nor `group.version` until the consumer group protocol is served.
 */

/** A feature this broker supports, and the level the (single-node) cluster has it finalized at. */
export interface BrokerFeature {
  /** Kafka's feature name. */
  name: string;
  /** Lowest supported level. */
  minVersion: number;
  /** Highest supported level. */
  maxVersion: number;
  /** Finalized level (0 = not finalized: Kafka leaves such features out of FinalizedFeatures). */
  finalizedLevel: number;
}

/** Kafka's metadata.version feature level of 4.3-IV0. */
export const METADATA_VERSION_4_3_IV0 = 30;

/** Lowest metadata.version Kafka 4 supports (3.3-IV3). */
export const METADATA_VERSION_MINIMUM = 7;

/** The features this broker reports. */
export const BROKER_FEATURES: readonly BrokerFeature[] = [
  { name: "metadata.version", minVersion: METADATA_VERSION_MINIMUM, maxVersion: METADATA_VERSION_4_3_IV0, finalizedLevel: METADATA_VERSION_4_3_IV0 },
];

/** Epoch of the finalized features: they are fixed for the life of the process, so one epoch. */
export const FINALIZED_FEATURES_EPOCH = 0n;
