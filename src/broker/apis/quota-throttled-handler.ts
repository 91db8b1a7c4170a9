/**
 * Produce and Fetch under client quotas (`producer_byte_rate`, `consumer_byte_rate`): the bytes a request carries
 * (Produce) or its response carries (Fetch) are counted on the quota's sensor; over the quota the response is sent
 * at once with Kafka's `throttle_time_ms` and the connection is muted (no further requests read) for that long
 * (KIP-219), so a client cannot run ahead of its quota while others are unaffected. Follower fetches are not
 * throttled. In-process callers without a session get the throttle time only.
 */
import { CloseConnection, NO_RESPONSE, type ApiHandler, type RequestContext } from "../api-handler.ts";
import type { Clock } from "../../platform/clock.ts";
import type { ClientQuotaStore, ResolvedQuota } from "../../security/client-quotas.ts";
import type { QuotaRates } from "../../security/quota-rate.ts";

type Req = Record<string, any>;

function recordsBytes(r: unknown): number {
  if (r === null || r === undefined) return 0;
  if (r instanceof Uint8Array) return r.length;
  let n = 0;
  for (const part of r as Uint8Array[]) n += part.length;
  return n;
}

/** The user name of the request's principal (`ANONYMOUS` without a session), as Kafka's quota entities name it. */
export function quotaUser(ctx: RequestContext): string {
  const p = ctx.session?.principal ?? "User:ANONYMOUS";
  return p.startsWith("User:") ? p.slice(5) : p;
}

/** Mutes the request's connection until a quota's balance is repaid, `throttleMs` from now (KIP-219). */
export function muteFor(ctx: RequestContext, clock: Clock, throttleMs: number): void {
  if (ctx.session !== undefined && throttleMs > 0) ctx.session.mutedUntilMs = Math.max(ctx.session.mutedUntilMs, clock.monotonicMs() + throttleMs);
}

/**
 * The response with a throttle time (the largest of the quotas' throttle times wins, as in Kafka); a copy, so a
 * response object a handler shares between requests is never changed.
 */
export function withThrottle<T>(res: T, throttleMs: number): T {
  if (throttleMs <= 0 || res === NO_RESPONSE || res instanceof CloseConnection) return res;
  const body = res as { throttleTimeMs?: number };
  return { ...body, throttleTimeMs: Math.max(body.throttleTimeMs ?? 0, throttleMs) } as T;
}

/**
 * Charges the records of `res` (a Fetch answer) on quota `q`: mutes the request's connection while the balance is
 * owed and returns `res` with the throttle time. A sharded node's front charges its client's answers with it too.
 */
export function chargeFetch<T>(ctx: RequestContext, res: T, q: ResolvedQuota, rates: QuotaRates, clock: Clock): T {
  if (res === NO_RESPONSE || res instanceof CloseConnection) return res;
  let bytes = 0;
  for (const t of (res as Req).responses ?? []) for (const p of t.partitions ?? []) bytes += recordsBytes(p.records);
  const throttle = rates.record(q.sensor, bytes, q.value, clock.monotonicMs());
  muteFor(ctx, clock, throttle);
  return withThrottle(res, throttle);
}

/**
 * `h` (Produce or Fetch) under the client quotas of `store`. A Fetch on a shard's connection from its node's front
 * (`Connection.fetchQuotaAtFront`) is not charged here: the front charges what it sends its client.
 */
export function quotaThrottledHandler(h: ApiHandler, store: ClientQuotaStore, rates: QuotaRates, clock: Clock): ApiHandler {
  const produce = h.apiKey === 0;
  const key = produce ? "producer_byte_rate" : "consumer_byte_rate";
  const mute = (ctx: RequestContext, throttleMs: number) => muteFor(ctx, clock, throttleMs);
  const finish = withThrottle;
  return {
    ...h,
    handle(ctx, req: Req) {
      const q = store.resolve(key, quotaUser(ctx), ctx.header.clientId ?? "");
      if (q === null) return h.handle(ctx, req);
      if (produce) {
        let bytes = 0;
        for (const t of req.topicData ?? []) for (const p of t.partitionData ?? []) bytes += recordsBytes(p.records);
        const throttle = rates.record(q.sensor, bytes, q.value, clock.monotonicMs());
        mute(ctx, throttle);
        const res = h.handle(ctx, req);
        return (res instanceof Promise ? res.then((r) => finish(r, throttle)) : finish(res, throttle)) as never;
      }
      const replicaId = req.replicaState?.replicaId ?? req.replicaId ?? -1;
      if (replicaId >= 0 || (ctx.connection as { fetchQuotaAtFront?: boolean } | undefined)?.fetchQuotaAtFront === true) return h.handle(ctx, req);
      const count = (r: unknown) => chargeFetch(ctx, r, q, rates, clock);
      const res = h.handle(ctx, req);
      return (res instanceof Promise ? res.then(count) : count(res)) as never;
    },
  };
}
