/** A partition directory in a temp dir for tests that open its partition again and again (restarts over one directory). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { logConfigWith, type LogConfig } from "../../src/storage/log-config.ts";
import { PartitionLog, type LogOpenState } from "../../src/storage/partition-log.ts";
import { Partition, type PartitionRoles } from "../../src/partition/partition.ts";
import { recordingLogger } from "../storage/batch-fixture.ts";

/**
 * Partition 0 of topic `t` in a fresh temp dir named from `prefix` (removed after the test): `open` opens it on the
 * real file system (cleanup.policy delete and `config`'s other settings, a manual clock, broker 1) with `roles` and a
 * log open state.
 */
export function tempPartitionDir(t: { after(fn: () => void): void }, prefix: string, config: Partial<LogConfig> = {}): { dir: string; open(roles: PartitionRoles, state?: LogOpenState): Partition } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = `${root}/t-0`;
  const clock = new ManualClock();
  const logger = recordingLogger();
  const logConfig = logConfigWith({ cleanupPolicy: ["delete"], ...config });
  return {
    dir,
    open: (roles, state = {}) =>
      Partition.open({ name: "t" }, 0, PartitionLog.open(dir, { topic: "t", partition: 0 }, logConfig, { fs: nodeFileSystem, clock, logger }, state), { fs: nodeFileSystem, clock, logger, localBrokerId: 1 }, roles),
  };
}
