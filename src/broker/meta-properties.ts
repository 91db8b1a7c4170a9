/**
 * `meta.properties` in every log dir, as Kafka writes it: the cluster id and node id a directory belongs to.
 * A directory of another cluster or node is refused at start, so data is never mixed.
 */
import type { FileSystem } from "../platform/fs.ts";
import { parseProperties } from "./config.ts";
import { randomUuid, uuidBase64 } from "../protocol/uuid.ts";
import { type RandomSource, systemRandom } from "../platform/random.ts";

/**
 * Reads or creates `meta.properties` in every dir; returns the cluster id they share. With `onIoError`, a dir whose
 * file cannot be read or written is reported there and left out (the broker takes it offline); without, it throws.
 */
export function ensureMetaProperties(fs: FileSystem, dirs: string[], nodeId: number, configuredClusterId: string | null, random: RandomSource = systemRandom, onIoError?: (dir: string, e: unknown) => void): string {
  let clusterId: string | null = null;
  const missing: string[] = [];
  const io = <T>(dir: string, fn: () => T): T | undefined => {
    if (onIoError === undefined) return fn();
    try {
      return fn();
    } catch (e) {
      onIoError(dir, e);
      return undefined;
    }
  };
  for (const dir of dirs) {
    const path = `${dir}/meta.properties`;
    const text = io(dir, () => (fs.exists(path) ? new TextDecoder().decode(fs.readFile(path)) : null));
    if (text === undefined) continue;
    if (text === null) {
      missing.push(dir);
      continue;
    }
    const props = parseProperties(text);
    const id = props.get("cluster.id");
    const node = props.get("node.id");
    if (!id) throw new Error(`${path} has no cluster.id`);
    if (node !== undefined && Number(node) !== nodeId) throw new Error(`${path} belongs to node ${node}, but node.id is ${nodeId}`);
    if (clusterId !== null && clusterId !== id) throw new Error(`${path} belongs to cluster ${id}, other log dirs to ${clusterId}`);
    clusterId = id;
  }
  if (clusterId !== null && configuredClusterId !== null && configuredClusterId !== clusterId) {
    throw new Error(`log dirs belong to cluster ${clusterId}, but cluster.id is ${configuredClusterId}`);
  }
  clusterId ??= configuredClusterId ?? uuidBase64(randomUuid(random));
  for (const dir of missing) {
    const text = `#\n#Written by Runnel\nversion=1\nnode.id=${nodeId}\ncluster.id=${clusterId}\ndirectory.id=${uuidBase64(randomUuid(random))}\n`;
    io(dir, () => fs.writeFileAtomic(`${dir}/meta.properties`, new TextEncoder().encode(text)));
  }
  return clusterId;
}
