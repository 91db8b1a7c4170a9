/**
 * Bench only: a node of ONE shard behind the front (which `runnel start` never runs: 1 shard is the plain broker),
 * so bench/shards.ts can measure what the front and the port hop cost against the plain broker with the same work.
 * Takes `runnel start` arguments; runs until SIGTERM.
 */
import { startConfig } from "../src/cli/start.ts";
import { startShardedNode } from "../src/shard/sharded-node.ts";

const config = startConfig(process.argv.slice(2), process.env);
config.values.set("runnel.shards", "1");
const node = await startShardedNode(config);
process.on("SIGTERM", () => void node.stop().then(() => process.exit(0)));
