/**
 * Cluster metadata: topics, their ids, partition counts and config overrides. A single node keeps it in one JSON
 * file in the first log dir, written atomically (tmp + fsync + rename); a cluster will keep the same records in
 * etcd behind this interface.
 */
import type { FileSystem } from "../platform/fs.ts";

/** One topic as metadata knows it. */
export interface TopicRecord {
  /** Topic name. */
  name: string;
  /** Topic id, 16 bytes, as lowercase hex (stable text form for the file). */
  idHex: string;
  /** Number of partitions. */
  partitions: number;
  /** Replication factor asked at creation (a single node stores one replica). */
  replicationFactor: number;
  /** Topic-level config overrides (Kafka keys). */
  configs: Record<string, string>;
  /** Wall-clock ms of creation. */
  createdAtMs: number;
}

/** Where topic metadata is kept. */
export interface MetadataStore {
  /** All topics. */
  topics(): TopicRecord[];
  /** Creates or replaces a topic record durably. */
  put(topic: TopicRecord): void;
  /** Removes a topic record durably. */
  remove(name: string): void;
}

const FILE_NAME = "__runnel_metadata.json";
const FORMAT_VERSION = 1;

/** A {@link MetadataStore} in one local JSON file. */
export class LocalMetadataStore implements MetadataStore {
  private readonly path: string;
  private readonly fs: FileSystem;
  private readonly byName = new Map<string, TopicRecord>();

  constructor(fs: FileSystem, dir: string) {
    this.fs = fs;
    this.path = `${dir}/${FILE_NAME}`;
    if (fs.exists(this.path)) {
      const doc = JSON.parse(new TextDecoder().decode(fs.readFile(this.path)));
      if (doc.version !== FORMAT_VERSION) throw new Error(`${this.path}: unknown metadata version ${doc.version}`);
      for (const t of doc.topics as TopicRecord[]) this.byName.set(t.name, t);
    }
  }
  /** All topics, sorted by name. */
  topics(): TopicRecord[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  /** Creates or replaces a topic and persists. */
  put(topic: TopicRecord): void {
    this.byName.set(topic.name, topic);
    this.save();
  }
  /** Removes a topic and persists. */
  remove(name: string): void {
    if (this.byName.delete(name)) this.save();
  }
  private save(): void {
    const doc = { version: FORMAT_VERSION, topics: this.topics() };
    this.fs.writeFileAtomic(this.path, new TextEncoder().encode(JSON.stringify(doc, null, 1)));
  }
}
