/**
 * Client quotas as Kafka keeps them: values (`producer_byte_rate`, `consumer_byte_rate`, `request_percentage`,
 * `controller_mutation_rate`) set on an entity of a user and/or a client id, either named or the default (null),
 * stored in the metadata store (resource "client-quota"). The quota in force for a (user, client id) follows
 * Kafka's precedence: user+client, user+default client, user, default user+client, default user+default client,
 * default user, client, default client.
 * Entities of one ip component (a named address or host, or the default ip entity) hold `connection_creation_rate`
 * (KIP-612), which the listeners enforce ({@link ClientQuotaStore.connectionRateOf}, src/broker/connection-rate.ts).
 */
import type { ConfigRecord, MetadataStore } from "../cluster/metadata-store.ts";
import { canonicalIp } from "../platform/net.ts";

/** The quota keys of user and client-id entities (Kafka's QuotaConfig.userAndClientQuotaConfigs). */
export const QUOTA_KEYS: ReadonlySet<string> = new Set(["producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"]);
/** The quota key of ip entities (Kafka's QuotaConfig.ipConfigs): connections accepted per second from an address. */
export const IP_CONNECTION_RATE_KEY = "connection_creation_rate";
/** An address without a `connection_creation_rate` (Kafka's IP_CONNECTION_RATE_DEFAULT, Int.MaxValue): no limit. */
export const IP_CONNECTION_RATE_DEFAULT = 2147483647;

/** The `connection_creation_rate` quotas by address, as a listener looks them up on each accept. */
interface IpRates {
  /** By canonical address (named entities; host names once resolved). */
  byIp: Map<string, number>;
  /** The default ip entity's, or {@link IP_CONNECTION_RATE_DEFAULT}. */
  fallback: number;
}

/** One entity: its components by type ("user", "client-id"); a null name is the default entity. */
export type QuotaEntity = ReadonlyArray<readonly [type: string, name: string | null]>;

/** The store name of an entity (components sorted by type). */
export function entityKey(entity: QuotaEntity): string {
  return JSON.stringify([...entity].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/** The quota in force and the entity it is defined on (the sensor key shared by everyone it covers). */
export interface ResolvedQuota {
  /** Bytes or percent per second. */
  value: number;
  /** Stable key of the covering entity with the actual names in place of defaults. */
  sensor: string;
}

/** Client quotas over the metadata store. */
export class ClientQuotaStore {
  /** Values by entity key, rebuilt from the store after any change (null: stale). */
  private cache: Map<string, Record<string, string>> | null = null;
  /** The ip quotas, rebuilt after any change (null: stale). */
  private ipRates: IpRates | null = null;
  /** Removes this store's listener from the metadata store. */
  private readonly unwatch: () => void;

  /**
   * @param resolveHost the address a host name of an ip entity stands for (Kafka: InetAddress.getByName), or null;
   * without it such entities limit nothing.
   */
  constructor(
    private readonly view: Pick<MetadataStore, "configRecord" | "configRecordsOf" | "watch">,
    private readonly put: (record: ConfigRecord) => Promise<void>,
    private readonly resolveHost?: (host: string) => Promise<string | null>,
  ) {
    this.unwatch = view.watch((change) => {
      if (change.kind === "config" && change.resource === "client-quota") {
        this.cache = null;
        this.ipRates = null;
      }
    });
  }

  /** Stops following the metadata store's changes (its owner stops; the store may live on). */
  close(): void {
    this.unwatch();
  }

  private byEntity(): Map<string, Record<string, string>> {
    if (this.cache === null) this.cache = new Map(this.view.configRecordsOf("client-quota").map((r) => [r.name, r.configs]));
    return this.cache;
  }

  /** Every entity with its values. */
  all(): Array<{ entity: QuotaEntity; values: Record<string, number> }> {
    return this.view.configRecordsOf("client-quota").map((r) => ({ entity: JSON.parse(r.name) as QuotaEntity, values: Object.fromEntries(Object.entries(r.configs).map(([k, v]) => [k, Number(v)])) }));
  }

  /** Applies set and remove operations to one entity durably. */
  async alter(entity: QuotaEntity, ops: ReadonlyArray<{ key: string; value: number; remove: boolean }>): Promise<void> {
    const name = entityKey(entity);
    const configs: Record<string, string> = { ...(this.view.configRecord("client-quota", name)?.configs ?? {}) };
    for (const op of ops) {
      if (op.remove) delete configs[op.key];
      else configs[op.key] = String(op.value);
    }
    await this.put({ resource: "client-quota", name, configs });
    this.cache = null;
    this.ipRates = null;
  }

  /**
   * The `connection_creation_rate` in force for a connection from `ip`, given in its canonical spelling (canonicalIp:
   * the listener canonicalizes each client address once): its address's quota, else the default ip entity's, else
   * {@link IP_CONNECTION_RATE_DEFAULT} (Kafka's ConnectionQuotas.connectionRateForIp). An entity named by a host
   * name applies once the name has resolved.
   */
  connectionRateOf(ip: string): number {
    const rates = (this.ipRates ??= this.buildIpRates());
    if (rates.byIp.size === 0) return rates.fallback; // the common case: no address has a quota of its own
    return rates.byIp.get(ip) ?? rates.fallback;
  }

  private buildIpRates(): IpRates {
    const rates: IpRates = { byIp: new Map(), fallback: IP_CONNECTION_RATE_DEFAULT };
    for (const r of this.view.configRecordsOf("client-quota")) {
      const entity = JSON.parse(r.name) as QuotaEntity;
      const value = r.configs[IP_CONNECTION_RATE_KEY];
      if (entity.length !== 1 || entity[0][0] !== "ip" || value === undefined) continue;
      // Kafka's broker takes the quota as an int (ClientQuotaMetadataManager: value.toInt)
      const rate = Math.trunc(Number(value));
      const name = entity[0][1];
      if (name === null) {
        rates.fallback = rate;
        continue;
      }
      const ip = canonicalIp(name);
      if (ip !== null) rates.byIp.set(ip, rate);
      else if (this.resolveHost !== undefined) {
        void this.resolveHost(name).then((resolved) => {
          // only into the table it was resolved for (a later change rebuilds and resolves again)
          if (resolved !== null && this.ipRates === rates) rates.byIp.set(resolved, rate);
        });
      }
    }
    return rates;
  }

  /** The `key` quota for `user` and `clientId` by Kafka's precedence, or null when none applies. */
  resolve(key: string, user: string, clientId: string): ResolvedQuota | null {
    const known = this.byEntity();
    if (known.size === 0) return null; // the common case: no quotas, nothing to look up
    const order: Array<[QuotaEntity, string]> = [
      [[["client-id", clientId], ["user", user]], `u=${user}/c=${clientId}`],
      [[["client-id", null], ["user", user]], `u=${user}/c=${clientId}`],
      [[["user", user]], `u=${user}`],
      [[["client-id", clientId], ["user", null]], `u=${user}/c=${clientId}`],
      [[["client-id", null], ["user", null]], `u=${user}/c=${clientId}`],
      [[["user", null]], `u=${user}`],
      [[["client-id", clientId]], `c=${clientId}`],
      [[["client-id", null]], `c=${clientId}`],
    ];
    for (const [entity, sensor] of order) {
      const v = known.get(entityKey(entity))?.[key];
      if (v !== undefined) return { value: Number(v), sensor: `${key}:${sensor}` };
    }
    return null;
  }
}
