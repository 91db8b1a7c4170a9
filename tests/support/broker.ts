/**
 * Starts a real broker for a test: in-process, on 127.0.0.1 with an OS-chosen port, with a fresh temporary data
 * directory that `stop()` removes (unless `keepDir`).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Broker, type BrokerDeps, type BrokerLogger } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { testShards } from "./broker-process.ts";
import { startShardedTestBroker } from "./sharded-test-broker.ts";

/** A running test broker. */
export interface TestBroker {
  /** The bound port. */
  port: number;
  /** "127.0.0.1:port". */
  bootstrap: string;
  /** The broker. */
  broker: Broker;
  /** Its data directory. */
  dir: string;
  /** Stops the broker and removes the directory (unless keepDir). */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

/** A logger that keeps lines in memory (printed only when RUNNEL_TEST_LOG is set). */
export function testLogger(lines: string[] = []): BrokerLogger {
  const put = (lvl: string) => (m: string) => {
    lines.push(`${lvl} ${m}`);
    if (process.env.RUNNEL_TEST_LOG) console.error(`[broker] ${lvl} ${m}`);
  };
  return { info: put("INFO"), warn: put("WARN"), error: put("ERROR") };
}

/**
 * Starts a broker with test-friendly defaults plus `overrides`; reuses `dir` when given (restart tests). Under
 * `RUNNEL_TEST_SHARDS=N` (N > 1) it is a sharded node in its own process instead (tests/support/sharded-test-broker.ts).
 */
export async function startTestBroker(overrides: Record<string, string> = {}, dir?: string, logLines?: string[], deps: BrokerDeps = {}): Promise<TestBroker> {
  if (testShards() > 1) return startShardedTestBroker(overrides, dir, logLines, deps);
  const dataDir = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "runnel-test-"));
  const values = new Map<string, string>([
    ["listeners", "PLAINTEXT://127.0.0.1:0"],
    ["log.dirs", dataDir],
    ["group.initial.rebalance.delay.ms", "0"],
    ["offsets.topic.num.partitions", "4"],
    ...Object.entries(overrides),
  ]);
  const broker = await Broker.start(new BrokerConfig(values), { logger: testLogger(logLines), ...deps });
  return {
    port: broker.port,
    bootstrap: `127.0.0.1:${broker.port}`,
    broker,
    dir: dataDir,
    async stop(opts) {
      await broker.stop();
      if (!opts?.keepDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
