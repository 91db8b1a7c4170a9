/** DescribeLogDirs (key 35), versions 1-5. v2 flexible; v3 top-level error; v4 total/usable bytes; v5 cordoned. */
import * as nodeFs from "node:fs";
import type { DescribeLogDirsRequest, DescribeLogDirsResponse } from "../../protocol/generated/35_describe_log_dirs.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the DescribeLogDirs handler. */
export function describeLogDirsHandler(b: Broker): ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse> {
  return {
    apiKey: 35,
    minVersion: 1,
    maxVersion: 5,
    handle(_ctx, req) {
      const wanted = req.topics === null ? null : new Map(req.topics.map((t) => [t.topic, new Set(t.partitions)]));
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        results: b.logDirs().map((d) => {
          const byTopic = new Map<string, { partitionIndex: number; partitionSize: bigint; offsetLag: bigint; isFutureKey: boolean }[]>();
          for (const p of d.partitions) {
            if (wanted !== null && !wanted.get(p.topic)?.has(p.partition)) continue;
            let list = byTopic.get(p.topic);
            if (!list) byTopic.set(p.topic, (list = []));
            list.push({ partitionIndex: p.partition, partitionSize: BigInt(p.size), offsetLag: 0n, isFutureKey: false });
          }
          let total = -1n;
          let usable = -1n;
          try {
            const s = nodeFs.statfsSync(d.dir);
            total = BigInt(s.blocks) * BigInt(s.bsize);
            usable = BigInt(s.bavail) * BigInt(s.bsize);
          } catch {
            // statfs is not available everywhere; -1 means unknown.
          }
          // KIP-112: a log dir a disk failure took offline answers KAFKA_STORAGE_ERROR and lists no partitions.
          return {
            errorCode: d.offline === null ? ErrorCode.NONE : ErrorCode.KAFKA_STORAGE_ERROR,
            logDir: d.dir,
            topics: d.offline === null ? [...byTopic].map(([name, partitions]) => ({ name, partitions })) : [],
            totalBytes: total,
            usableBytes: usable,
            isCordoned: false,
          };
        }),
      };
    },
  };
}
