/**
 * ACLs kept in the metadata store (so every broker of a cluster sees a change as soon as its store does): one record
 * per resource pattern (resource "acl", name `<type>:<pattern>:<resource name>`) whose keys are the ACL entries.
 * The in-memory list is rebuilt from the store's records whenever an "acl" record changes.
 */
import type { ConfigRecord, MetadataStore } from "../cluster/metadata-store.ts";
import type { AclBinding } from "./acl.ts";

const SEP = "\u0001";

const recordName = (b: Pick<AclBinding, "resourceType" | "patternType" | "resourceName">) => `${b.resourceType}:${b.patternType}:${b.resourceName}`;
const entryKey = (b: AclBinding) => [b.principal, b.host, b.operation, b.permissionType].join(SEP);

/** The ACL list over the metadata store. */
export class AclStore {
  private cache: AclBinding[] | null = null;
  /** Removes this store's listener from the metadata store. */
  private readonly unwatch: () => void;

  constructor(
    private readonly view: Pick<MetadataStore, "configRecord" | "configRecordsOf" | "watch">,
    private readonly put: (record: ConfigRecord) => Promise<void>,
  ) {
    this.unwatch = view.watch((change) => {
      if (change.kind === "config" && change.resource === "acl") this.cache = null;
    });
  }

  /** Stops following the metadata store's changes (its owner stops; the store may live on). */
  close(): void {
    this.unwatch();
  }

  /** Every ACL. */
  all(): readonly AclBinding[] {
    if (this.cache !== null) return this.cache;
    const out: AclBinding[] = [];
    for (const r of this.view.configRecordsOf("acl")) {
      const m = /^(\d+):(\d+):([\s\S]*)$/.exec(r.name);
      if (m === null) continue;
      for (const key of Object.keys(r.configs)) {
        const [principal, host, op, perm] = key.split(SEP);
        out.push({ resourceType: Number(m[1]), patternType: Number(m[2]), resourceName: m[3], principal, host, operation: Number(op), permissionType: Number(perm) });
      }
    }
    this.cache = out;
    return out;
  }

  /** Adds bindings durably (adding an existing one changes nothing). */
  async add(bindings: readonly AclBinding[]): Promise<void> {
    await this.change(bindings, (configs, b) => {
      configs[entryKey(b)] = "";
    });
  }

  /** Removes bindings durably. */
  async remove(bindings: readonly AclBinding[]): Promise<void> {
    await this.change(bindings, (configs, b) => {
      delete configs[entryKey(b)];
    });
  }

  private async change(bindings: readonly AclBinding[], edit: (configs: Record<string, string>, b: AclBinding) => void): Promise<void> {
    const byRecord = new Map<string, AclBinding[]>();
    for (const b of bindings) byRecord.set(recordName(b), [...(byRecord.get(recordName(b)) ?? []), b]);
    for (const [name, list] of byRecord) {
      const configs = { ...(this.view.configRecord("acl", name)?.configs ?? {}) };
      for (const b of list) edit(configs, b);
      await this.put({ resource: "acl", name, configs });
    }
    this.cache = null;
  }
}
