/**
 * Fetch answers for a front of this node (src/shard): on a connection whose peer reads segment files through its
 * own maps (`Connection.fileSlices`), each partition's records go out in slice form (src/storage/record-slices.ts):
 * where they lie in which segment file, not the bytes, so no record data is copied into the answer. Wraps the
 * whole Fetch handler (quotas and authorization included), so quotas count the records' own bytes.
 */
import type { ApiHandler, RequestContext } from "../api-handler.ts";
import type { FetchResponse } from "../../protocol/generated/01_fetch.ts";
import { encodeRecordSlices } from "../../storage/record-slices.ts";
import { recordsLength } from "../../protocol/wire.ts";

/** `h` (Fetch), answering with records in slice form on connections that ask for it. */
export function fileSlicedFetchHandler(h: ApiHandler): ApiHandler {
  return {
    ...h,
    handle(ctx: RequestContext, req: unknown) {
      const res = h.handle(ctx, req);
      if ((ctx.connection as { fileSlices?: boolean } | undefined)?.fileSlices !== true) return res;
      return res instanceof Promise ? res.then(toSlices) : toSlices(res);
    },
  };
}

function toSlices(res: unknown): unknown {
  const r = res as Partial<FetchResponse> | null;
  if (r === null || typeof r !== "object" || !Array.isArray(r.responses)) return res;
  for (const t of r.responses) {
    for (const p of t.partitions) {
      if (recordsLength(p.records) > 0) p.records = encodeRecordSlices(p.records as Uint8Array | Uint8Array[]);
    }
  }
  return res;
}
