/** Opens partition logs in temp dirs for storage tests, with a manual clock and a recording logger. */
import { ManualClock } from "../../src/platform/clock.ts";
import { type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { type LogConfig, logConfigWith } from "../../src/storage/log-config.ts";
import { type LogOpenState, PartitionLog } from "../../src/storage/partition-log.ts";
import type { Decompress, StorageDeps } from "../../src/storage/storage-deps.ts";
import type { FlushRounds } from "../../src/storage/flush-rounds.ts";
import { recordingLogger, tempDir } from "./batch-fixture.ts";

/** What a test gets: the log, its deps, and how to reopen and clean up. */
export interface TestLog {
  log: PartitionLog;
  dir: string;
  clock: ManualClock;
  logger: ReturnType<typeof recordingLogger>;
  deps: StorageDeps;
  config: LogConfig;
  /** Closes (unless `crash`) and opens the log again from disk. */
  reopen(opts?: { crash?: boolean; state?: LogOpenState; config?: LogConfig }): Promise<PartitionLog>;
  /** Closes the log and removes the temp dir. */
  cleanup(): Promise<void>;
}

/** Opens `orders-0` in a fresh temp dir. */
export async function openTestLog(fields: Partial<LogConfig> = {}, opts: { fs?: FileSystem; decompress?: Decompress; clock?: ManualClock; flushRounds?: FlushRounds; maxOverlappingFlushes?: number; pretouchBytes?: number } = {}): Promise<TestLog> {
  await initCrc32c();
  const { dir: root, cleanup } = tempDir();
  const dir = `${root}/orders-0`;
  const clock = opts.clock ?? new ManualClock();
  const logger = recordingLogger();
  const deps: StorageDeps = { fs: opts.fs ?? nodeFileSystem, clock, logger, decompress: opts.decompress, flushRounds: opts.flushRounds, maxOverlappingFlushes: opts.maxOverlappingFlushes, pretouchBytes: opts.pretouchBytes };
  const config = logConfigWith(fields);
  const tp = { topic: "orders", partition: 0 };
  const t: TestLog = {
    log: PartitionLog.open(dir, tp, config, deps),
    dir,
    clock,
    logger,
    deps,
    config,
    async reopen(o = {}) {
      if (!o.crash) await t.log.close();
      t.log = PartitionLog.open(dir, tp, o.config ?? config, deps, o.state ?? {});
      return t.log;
    },
    async cleanup() {
      await t.log.close().catch(() => {});
      cleanup();
    },
  };
  return t;
}
