/**
 * `request_percentage` (KIP-124): the time the broker spends on a client's requests, as a percentage of one thread
 * over the quota window. Runnel has one event loop instead of Kafka's network and request handler threads, so what
 * is counted is the time the loop spends running the request's handler (its synchronous part: decoding is done
 * before, and waiting on the log or a long poll costs no loop time, as it costs no thread time in Kafka). Over the
 * quota the response carries `throttle_time_ms` and the connection is muted for that long (KIP-219); with a byte-rate
 * or controller mutation quota also violated, the larger throttle time wins. A follower's Fetch is exempt, as in Kafka.
 */
import type { ApiHandler } from "../api-handler.ts";
import type { Clock } from "../../platform/clock.ts";
import type { ClientQuotaStore } from "../../security/client-quotas.ts";
import type { QuotaRates } from "../../security/quota-rate.ts";
import { muteFor, quotaUser, withThrottle } from "./quota-throttled-handler.ts";

/** Percent of one thread per ms of loop time (100% is 1000 ms of work per second). */
const PERCENT_PER_MS = 100 / 1000;

/** `h` under the `request_percentage` quotas of `store`. */
export function requestQuotaHandler(h: ApiHandler, store: ClientQuotaStore, rates: QuotaRates, clock: Clock): ApiHandler {
  return {
    ...h,
    handle(ctx, req) {
      const q = store.resolve("request_percentage", quotaUser(ctx), ctx.header.clientId ?? "");
      if (q === null) return h.handle(ctx, req);
      const r = req as { replicaState?: { replicaId?: number }; replicaId?: number } | null;
      if (h.apiKey === 1 && (r?.replicaState?.replicaId ?? r?.replicaId ?? -1) >= 0) return h.handle(ctx, req);
      const start = clock.monotonicMs();
      const res = h.handle(ctx, req);
      const now = clock.monotonicMs();
      const throttle = rates.record(q.sensor, (now - start) * PERCENT_PER_MS, q.value, now);
      muteFor(ctx, clock, throttle);
      return (res instanceof Promise ? res.then((x) => withThrottle(x, throttle)) : withThrottle(res, throttle)) as never;
    },
  };
}
