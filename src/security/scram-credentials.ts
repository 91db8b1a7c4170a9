/**
 * SCRAM credentials in the metadata store, as Kafka kept them in ZooKeeper: one config record per user
 * (resource "user") mapping each mechanism name to `salt=..,stored_key=..,server_key=..,iterations=..`. Only salted
 * and hashed values are stored; the store is the broker's (a local file on one node, etcd in a cluster), so a
 * change made through any broker is seen by all.
 */
import type { ConfigRecord, MetadataStore } from "../cluster/metadata-store.ts";
import { formatCredential, parseCredential, type ScramCredential } from "./scram.ts";

/** Reads and writes users' SCRAM credentials. */
export class ScramCredentialStore {
  constructor(
    private readonly view: Pick<MetadataStore, "configRecord" | "configRecordsOf">,
    private readonly put: (record: ConfigRecord) => Promise<void>,
  ) {}

  /** The credential of `user` for `mechanism`, or undefined. */
  get(user: string, mechanism: string): ScramCredential | undefined {
    const text = this.view.configRecord("user", user)?.configs[mechanism];
    if (text === undefined) return undefined;
    return parseCredential(text) ?? undefined;
  }

  /** Mechanism names and iterations per user (every user with a credential when `users` is null). */
  describe(users: readonly string[] | null): Map<string, Array<{ mechanism: string; iterations: number }>> {
    const records = users === null ? this.view.configRecordsOf("user") : users.flatMap((u) => this.view.configRecord("user", u) ?? []);
    const out = new Map<string, Array<{ mechanism: string; iterations: number }>>();
    for (const r of records) {
      const infos = Object.entries(r.configs).flatMap(([mechanism, text]) => {
        const c = parseCredential(text);
        return c === null ? [] : [{ mechanism, iterations: c.iterations }];
      });
      if (infos.length > 0) out.set(r.name, infos);
    }
    return out;
  }

  /** Applies upsertions and deletions of one user durably (an empty result removes the user's record). */
  async alter(user: string, upsert: ReadonlyArray<[string, ScramCredential]>, remove: readonly string[]): Promise<void> {
    const next: Record<string, string> = { ...(this.view.configRecord("user", user)?.configs ?? {}) };
    for (const m of remove) delete next[m];
    for (const [m, c] of upsert) next[m] = formatCredential(c);
    await this.put({ resource: "user", name: user, configs: next });
  }
}
