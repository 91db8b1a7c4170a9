/**
 * `consumer_byte_rate` at a sharded node's front: the front charges the records of the Fetch answer it sends its
 * client, on the node's shared sensors (src/security/quota-rate.ts), and mutes the client's own connection while the
 * balance is owed (KIP-219). The shards charge none of the front's channels' Fetch answers
 * (`Connection.fetchQuotaAtFront`): a Fetch split over shards would otherwise be charged for records the front drops
 * past `max_bytes`, for a long poll's first round again, and for a partition read again after its file slice failed.
 */
import type { RequestContext } from "../../broker/api-handler.ts";
import { chargeFetch, quotaUser } from "../../broker/apis/quota-throttled-handler.ts";
import type { BrokerConfig } from "../../broker/config.ts";
import type { MetadataStore } from "../../cluster/metadata-store.ts";
import type { Clock } from "../../platform/clock.ts";
import { monotonicOriginMs } from "../../platform/clock.ts";
import { SharedKeyTable } from "../../platform/shared-table.ts";
import { ClientQuotaStore } from "../../security/client-quotas.ts";
import { QuotaRates } from "../../security/quota-rate.ts";

/** The metadata reads a front needs: client quotas, and the dynamic broker configs with the store version they are at. */
export type QuotaMetadata = Pick<MetadataStore, "configRecord" | "configRecordsOf" | "watch" | "version">;

/** Charges a front's Fetch answers. */
export interface FrontFetchQuota {
  /** `res` (the answer to the client's Fetch of `ctx`, a consumer's: `replica_id` < 0) charged, with its throttle time. */
  charge<T>(ctx: RequestContext, res: T): T;
  /** Stops following the node's metadata (the front stops; the node's store lives on with its shards). */
  close(): void;
}

/** The front's Fetch quota over `metadata`'s client quotas and the node's shared `sensors`. */
export function frontFetchQuota(config: BrokerConfig, metadata: QuotaMetadata, sensors: SharedArrayBuffer, clock: Clock): FrontFetchQuota {
  const store = new ClientQuotaStore(metadata, () => Promise.reject(new Error("the front of a sharded node changes no client quotas")));
  const rates = new QuotaRates(config.num("quota.window.num"), config.num("quota.window.size.seconds") * 1000);
  rates.share({ table: SharedKeyTable.attach(sensors), originMs: monotonicOriginMs() });
  return {
    charge(ctx, res) {
      const q = store.resolve("consumer_byte_rate", quotaUser(ctx), ctx.header.clientId ?? "");
      return q === null ? res : chargeFetch(ctx, res, q, rates, clock);
    },
    close: () => store.close(),
  };
}
