/**
 * Answers a request that names a list of resources (topics, groups, config resources) partly: the handler serves
 * the elements not set aside, and each set-aside element is answered with its own error code (a response element
 * shaped from the schema by {@link errorResponse}) in the same response, as Kafka does for authorization refusals
 * and controller mutation quota violations.
 */
import { CloseConnection, NO_RESPONSE, type ApiHandler, type RequestContext } from "../api-handler.ts";
import { errorResponse } from "../error-response.ts";
import { ErrorCode } from "../../protocol/errors.ts";

type Req = Record<string, any>;

/** Runs `h` on the elements of `req[list]` without an entry in `codes` (index to error code) and merges in the others' answers (with `messageOf(code)`, when not null, on each). */
export function serveExcept(h: ApiHandler, ctx: RequestContext, req: Req, list: string, codes: ReadonlyMap<number, number>, messageOf: (code: number) => string | null = () => null): ReturnType<ApiHandler["handle"]> {
  const items: unknown[] = req[list];
  const served = items.filter((_, i) => !codes.has(i));
  const answered: Array<{ part: Record<string, unknown>; message: string | null }> = [];
  for (const code of new Set(codes.values())) {
    answered.push({ part: errorResponse(h.apiKey, ctx.apiVersion, { ...req, [list]: items.filter((_, i) => codes.get(i) === code) }, code), message: messageOf(code) });
  }
  const merge = (res: unknown) => {
    if (res === NO_RESPONSE || res instanceof CloseConnection) return res;
    const body = res as Record<string, unknown>;
    for (const { part, message } of answered) {
      for (const [k, v] of Object.entries(part)) {
        if (!Array.isArray(v) || v.length === 0 || !Array.isArray(body[k])) continue;
        if (message !== null) for (const el of v as Record<string, unknown>[]) if ("errorMessage" in el) el.errorMessage = message;
        body[k] = [...(body[k] as unknown[]), ...v];
      }
    }
    return res;
  };
  // With nothing left to serve, the response is these answers alone (no error on the request as a whole).
  if (served.length === 0) return merge(errorResponse(h.apiKey, ctx.apiVersion, { ...req, [list]: [] }, ErrorCode.NONE)) as never;
  const res = h.handle(ctx, { ...req, [list]: served });
  return (res instanceof Promise ? res.then(merge) : merge(res)) as never;
}
