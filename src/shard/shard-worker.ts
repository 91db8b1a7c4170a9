/**
 * The entry module of a shard's worker thread (an entry point of the compiled executable: see package.json's
 * `build`). It takes its {@link ShardInit} from the spawn data and its control port from the first message.
 */
import { parentChannel } from "../platform/worker.ts";
import type { PortLike } from "../platform/port-connection.ts";
import { runShard, type ShardInit } from "./shard.ts";

const parent = parentChannel<{ port: PortLike }, never>();
if (parent === null) throw new Error("src/shard/shard-worker.ts runs only as a worker thread (spawned by the shard host)");
parent.onMessage(({ port }) => {
  parent.close();
  void runShard(parent.data as ShardInit, port);
});
