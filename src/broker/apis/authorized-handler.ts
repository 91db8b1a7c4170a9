/**
 * Wraps a handler with the authorizer's checks for its API (src/security/request-authorization.ts): a refused
 * request is answered with Kafka's authorization error in a response shaped for the API, without running the
 * handler; an acks=0 Produce, which has no response, closes the connection instead. Produce and a consumer's Fetch
 * are checked per topic, as in Kafka: refused topics get TOPIC_AUTHORIZATION_FAILED and the others are served. So
 * are the APIs naming a list of resources ({@link perResourceChecks}): the handler serves the allowed elements and
 * the refused ones are answered with their error codes in the same response. ListGroups, ListTransactions and an
 * OffsetFetch of all topics leave out what the principal may not describe, and reported authorized operations are
 * the principal's, as Kafka does ({@link hideUnauthorized}).
 */
import { CloseConnection, NO_RESPONSE, type ApiHandler, type RequestContext } from "../api-handler.ts";
import { errorResponse } from "../error-response.ts";
import { serveExcept } from "./per-resource-response.ts";
import { AclOperation, ResourceType, type Authorizer } from "../../security/acl.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { addPartitionsRefusal, authorizationMessage, firstRefused, hideUnauthorized, NARROWED_RESPONSES, offsetFetchTopicRefusals, perResourceChecks, refusal, requestTopicName, type TopicNameById } from "../../security/request-authorization.ts";

type Req = Record<string, any>;

/**
 * A consumer Fetch's answer for topics the principal may not READ, as Kafka's FetchResponse.partitionResponse:
 * TOPIC_AUTHORIZATION_FAILED on each requested partition, offsets -1, no records.
 */
function refusedFetchTopics(topics: Req[]): Req[] {
  return topics.map((t) => ({
    ...(t.topic !== undefined ? { topic: t.topic } : {}),
    ...(t.topicId !== undefined ? { topicId: t.topicId } : {}),
    partitions: (t.partitions as Req[]).map((p) => ({ partitionIndex: p.partition, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, abortedTransactions: null, preferredReadReplica: -1, records: null })),
  }));
}

/**
 * Produce or a consumer Fetch with some or all topics refused: serves the rest and adds the refused ones' errors
 * (Kafka answers a Fetch whose every topic is refused with no top-level error and at once, unless an incremental
 * fetch session may hold other partitions).
 */
function perTopic(h: ApiHandler, ctx: RequestContext, req: Req, listKey: "topicData" | "topics", denied: Set<number>): ReturnType<ApiHandler["handle"]> {
  const list: Req[] = req[listKey];
  const allowed = list.filter((_, i) => !denied.has(i));
  const deniedList = list.filter((_, i) => denied.has(i));
  const refused = h.apiKey === 1 ? { responses: refusedFetchTopics(deniedList) } : (errorResponse(h.apiKey, ctx.apiVersion, { ...req, [listKey]: deniedList }, ErrorCode.TOPIC_AUTHORIZATION_FAILED) as { responses: unknown[] });
  if (h.apiKey === 1 && allowed.length === 0 && (req.sessionEpoch ?? -1) === -1) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: refused.responses } as never;
  const merge = (res: unknown) => {
    if (res === NO_RESPONSE || res instanceof CloseConnection) return res;
    const body = res as { responses: unknown[] };
    body.responses = [...body.responses, ...refused.responses];
    return res;
  };
  const res = h.handle(ctx, { ...req, [listKey]: allowed });
  return (res instanceof Promise ? res.then(merge) : merge(res)) as never;
}

/** The response refusing the whole request with `code`, with Kafka's message for it where the response has one. */
function refusedResponse(apiKey: number, version: number, req: unknown, code: number): Record<string, unknown> {
  const res = errorResponse(apiKey, version, req, code);
  if ("errorMessage" in res) res.errorMessage = authorizationMessage(code);
  // OffsetFetch v2-7 refused as a whole carries its error at the top and no topics (Kafka's error response)
  if (apiKey === 9 && version >= 2 && version <= 7) res.topics = [];
  return res;
}

/**
 * OffsetFetch v8+ groups refused (no DESCRIBE on the group) answer their error and no topics, as Kafka's
 * OffsetFetchResponse.groupError for v2+ (the error response mirrors the request's named topics otherwise).
 */
function withoutRefusedGroupTopics(res: ReturnType<ApiHandler["handle"]>, req: Req, codes: ReadonlyMap<number, number>): ReturnType<ApiHandler["handle"]> {
  const refused = new Set([...codes.keys()].map((i) => (req.groups as Req[])[i].groupId as string));
  const strip = (x: unknown) => {
    if (x === NO_RESPONSE || x instanceof CloseConnection) return x;
    for (const g of ((x as Req).groups ?? []) as Req[]) if (refused.has(g.groupId) && g.errorCode !== ErrorCode.NONE) g.topics = [];
    return x;
  };
  return (res instanceof Promise ? res.then(strip) : strip(res)) as never;
}

/** `h` behind the authorizer. */
export function authorizedHandler(h: ApiHandler, authz: Authorizer, nameOf: TopicNameById): ApiHandler {
  const checked = checkedHandler(h, authz, nameOf);
  if (!NARROWED_RESPONSES.has(h.apiKey)) return checked;
  return {
    ...checked,
    handle(ctx, req) {
      const s = ctx.session;
      if (s === undefined) return checked.handle(ctx, req);
      const who = { principal: s.principal, host: s.clientHost };
      const may = (op: number, type: number, name: string) => authz.authorize(who, op, type, name);
      const topicRefusals = h.apiKey === 9 ? offsetFetchTopicRefusals(req as Req, may, nameOf) : null;
      const res = checked.handle(ctx, topicRefusals?.served ?? req);
      const hide = (x: unknown) => {
        if (x === NO_RESPONSE || x instanceof CloseConnection) return x;
        hideUnauthorized(h.apiKey, req as Req, x as Req, may, nameOf);
        topicRefusals?.answer(x as Req);
        return x;
      };
      return (res instanceof Promise ? res.then(hide) : hide(res)) as never;
    },
  };
}

/** `h` with the authorizer's checks (refusals), before anything is hidden from the response. */
function checkedHandler(h: ApiHandler, authz: Authorizer, nameOf: TopicNameById): ApiHandler {
  return {
    ...h,
    handle(ctx, req) {
      const s = ctx.session;
      const r = req as Req;
      const consumerFetch = h.apiKey === 1 && (r.replicaState?.replicaId ?? r.replicaId ?? -1) < 0;
      if (s !== undefined && ((h.apiKey === 0 && !r.transactionalId && r.acks !== 0) || consumerFetch)) {
        const listKey = h.apiKey === 0 ? "topicData" : "topics";
        const op = h.apiKey === 0 ? AclOperation.WRITE : AclOperation.READ;
        const who = { principal: s.principal, host: s.clientHost };
        const denied = new Set<number>();
        (r[listKey] as Req[]).forEach((t, i) => {
          if (!authz.authorize(who, op, ResourceType.TOPIC, requestTopicName(t, nameOf))) denied.add(i);
        });
        if (denied.size > 0 && (consumerFetch || denied.size < r[listKey].length)) return perTopic(h, ctx, r, listKey, denied);
      }
      const split = s !== undefined ? perResourceChecks(h.apiKey, r, nameOf) : null;
      if (s !== undefined && split !== null) {
        const who = { principal: s.principal, host: s.clientHost };
        const whole = firstRefused(authz, who, h.apiKey, split.whole);
        if (whole !== null) return refusedResponse(h.apiKey, ctx.apiVersion, req, whole);
        const codes = new Map<number, number>();
        split.each.forEach((checks, i) => {
          const code = firstRefused(authz, who, h.apiKey, checks);
          if (code !== null) codes.set(i, code);
        });
        if (codes.size === 0) return h.handle(ctx, req);
        const res = serveExcept(h, ctx, r, split.list, codes, authorizationMessage);
        return h.apiKey === 9 && split.list === "groups" ? withoutRefusedGroupTopics(res, r, codes) : res;
      }
      if (s !== undefined && h.apiKey === 24 && ctx.apiVersion <= 3) {
        const refused = addPartitionsRefusal(r, (op, type, name) => authz.authorize({ principal: s.principal, host: s.clientHost }, op, type, name));
        if (refused !== null) return refused;
        return h.handle(ctx, req);
      }
      if (s !== undefined) {
        const code = refusal(authz, { principal: s.principal, host: s.clientHost }, h.apiKey, req, nameOf);
        if (code !== null) {
          if (h.apiKey === 0 && (req as { acks?: number }).acks === 0) return new CloseConnection(`${s.principal} may not produce to a topic of the request`);
          return refusedResponse(h.apiKey, ctx.apiVersion, req, code);
        }
      }
      return h.handle(ctx, req);
    },
  };
}
