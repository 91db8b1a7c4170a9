/**
 * `controller_mutation_rate` (KIP-599): partitions created (CreateTopics, CreatePartitions) or deleted (DeleteTopics)
 * per second, on a token bucket per quota entity (`controller.quota.window.num` x
 * `controller.quota.window.size.seconds`). Validate-only requests and topics that cannot change anything (creating
 * an existing topic, deleting a missing one) are not counted.
 * - Strict, for clients that understand the error (CreateTopics v6+, DeleteTopics v5+, CreatePartitions v3+): topics
 *   are taken in request order while the bucket is not in debt (a topic may take it into debt); the rest are answered
 *   THROTTLING_QUOTA_EXCEEDED, and the response carries the time until the debt is repaid.
 * - Permissive, for older versions: every topic is served and counted, and the response carries the throttle time.
 * Either way the connection is muted for the throttle time (KIP-219).
 */
import type { ApiHandler, RequestContext } from "../api-handler.ts";
import type { Clock } from "../../platform/clock.ts";
import type { ClientQuotaStore } from "../../security/client-quotas.ts";
import type { QuotaRates } from "../../security/quota-rate.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { uuidHex } from "../../protocol/uuid.ts";
import { muteFor, quotaUser, withThrottle } from "./quota-throttled-handler.ts";
import { serveExcept } from "./per-resource-response.ts";
import { deleteTopicsList } from "../../security/request-authorization.ts";

/** What the quota needs of the broker: partition counts of existing topics and the default for new ones. */
export interface MutationQuotaView {
  /** Partitions of the topic named `name` (or with id `idHex`), or undefined when there is none. */
  partitionCount(name: string | null, idHex: string | null): number | undefined;
  /** `num.partitions`. */
  defaultPartitions(): number;
}

/** First version answering THROTTLING_QUOTA_EXCEEDED, by API key. */
const STRICT_SINCE: Readonly<Record<number, number>> = { 19: 6, 20: 5, 37: 3 };

type Req = Record<string, any>;

/** The request's topic list and the partitions each element would create or delete (0: no change). */
function mutations(apiKey: number, req: Req, view: MutationQuotaView): { list: string; permits: number[] } {
  if (apiKey === 19) {
    const permits = (req.topics as Req[]).map((t) => {
      if (view.partitionCount(t.name, null) !== undefined) return 0;
      return t.numPartitions > 0 ? t.numPartitions : t.assignments?.length > 0 ? t.assignments.length : view.defaultPartitions();
    });
    return { list: "topics", permits };
  }
  if (apiKey === 20) {
    const list = deleteTopicsList(req);
    const permits = (req[list] as Array<string | Req>).map((t) => (typeof t === "string" ? view.partitionCount(t, null) : view.partitionCount(t.name ?? null, t.topicId instanceof Uint8Array ? uuidHex(t.topicId) : null)) ?? 0);
    return { list, permits };
  }
  const permits = (req.topics as Req[]).map((t) => Math.max(0, t.count - (view.partitionCount(t.name, null) ?? t.count)));
  return { list: "topics", permits };
}

/** `h` (CreateTopics, DeleteTopics or CreatePartitions) under the `controller_mutation_rate` quotas of `store`. */
export function mutationQuotaHandler(h: ApiHandler, store: ClientQuotaStore, rates: QuotaRates, clock: Clock, view: MutationQuotaView): ApiHandler {
  if (STRICT_SINCE[h.apiKey] === undefined) throw new Error(`API ${h.apiKey} makes no controller mutations`);
  return {
    ...h,
    handle(ctx: RequestContext, req) {
      const r = req as Req;
      const q = store.resolve("controller_mutation_rate", quotaUser(ctx), ctx.header.clientId ?? "");
      if (q === null || r.validateOnly === true) return h.handle(ctx, req);
      const { list, permits } = mutations(h.apiKey, r, view);
      const strict = ctx.apiVersion >= STRICT_SINCE[h.apiKey];
      const refused = new Map<number, number>();
      let throttle = 0;
      permits.forEach((n, i) => {
        if (n === 0) return;
        const now = clock.monotonicMs();
        const owed = rates.owed(q.sensor, q.value, now);
        if (strict && owed > 0) {
          refused.set(i, ErrorCode.THROTTLING_QUOTA_EXCEEDED);
          throttle = owed;
        } else throttle = rates.record(q.sensor, n, q.value, now);
      });
      muteFor(ctx, clock, throttle);
      const res = refused.size === 0 ? h.handle(ctx, req) : serveExcept(h, ctx, r, list, refused, () => "The throttling quota has been exceeded.");
      return (res instanceof Promise ? res.then((x) => withThrottle(x, throttle)) : withThrottle(res, throttle)) as never;
    },
  };
}
