/**
 * A small virtual network for partition tests: one Linux bridge in the root namespace (holding the address
 * `10.A.B.1/24`, so processes of the root namespace such as etcd and the test itself reach every node) and one
 * network namespace per node, joined to the bridge by a veth pair, with the address `10.A.B.(10+i)/24`. A and B are
 * random and checked against the routes already present, and every name carries a random suffix, so concurrent runs
 * do not collide. {@link NetLab.cut} detaches a node's veth from the bridge and sets it down: its packets then go
 * nowhere (no reset, as behind a broken switch), while processes inside its namespace still reach each other on its
 * own address.
 * {@link NetLab.heal} attaches it again. {@link NetLab.close} deletes everything (also at process exit).
 * Needs root and iproute2; {@link netnsSkipReason} says why not where it cannot work.
 */
import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { haveCommand, runProc } from "./proc.ts";

/** The iproute2 binary. */
const IP = haveCommand("/usr/sbin/ip") ? "/usr/sbin/ip" : "ip";
/** Attempts at finding a free random /24. */
const SUBNET_ATTEMPTS = 20;

async function ip(args: string[]): Promise<void> {
  const r = await runProc(IP, args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
}

/** Why network-namespace tests cannot run here, or false when they can (root, iproute2, namespaces and bridges work). */
export async function netnsSkipReason(): Promise<string | false> {
  if (process.getuid?.() !== 0) return "SKIPPED: network namespace tests need root (ip netns, veth, bridge)";
  if (!haveCommand(IP)) return "SKIPPED: no iproute2 `ip` command (apt-get install iproute2)";
  const probe = `rnprobe${randomBytes(3).toString("hex")}`;
  try {
    await ip(["netns", "add", probe]);
    await ip(["link", "add", probe, "type", "bridge"]);
    return false;
  } catch (e) {
    return `SKIPPED: this machine cannot create network namespaces and bridges: ${(e as Error).message}`;
  } finally {
    await runProc(IP, ["link", "del", probe], { timeoutMs: 30_000 }).catch(() => {});
    await runProc(IP, ["netns", "del", probe], { timeoutMs: 30_000 }).catch(() => {});
  }
}

/** A bridge and one namespace per node. */
export class NetLab {
  /** Address of the bridge (the root namespace's side): `10.A.B.1`. */
  readonly hostAddress: string;
  private readonly prefix: string;
  private readonly tag: string;
  private readonly nodes: number;
  private readonly onExit = () => this.closeSync();
  private closed = false;

  private constructor(tag: string, prefix: string, nodes: number) {
    this.tag = tag;
    this.prefix = prefix;
    this.nodes = nodes;
    this.hostAddress = `${prefix}.1`;
  }

  /** Creates the bridge and namespaces `1..nodes`; on any failure removes what it made and throws. */
  static async create(nodes: number): Promise<NetLab> {
    const lab = new NetLab(randomBytes(3).toString("hex"), await freeSubnet(), nodes);
    process.on("exit", lab.onExit);
    try {
      await ip(["link", "add", lab.bridge, "type", "bridge"]);
      await ip(["addr", "add", `${lab.hostAddress}/24`, "dev", lab.bridge]);
      await ip(["link", "set", lab.bridge, "up"]);
      for (let i = 1; i <= nodes; i++) {
        await ip(["netns", "add", lab.namespace(i)]);
        await ip(["link", "add", lab.veth(i), "type", "veth", "peer", "name", "eth0", "netns", lab.namespace(i)]);
        await ip(["link", "set", lab.veth(i), "master", lab.bridge, "up"]);
        await ip(["-n", lab.namespace(i), "addr", "add", `${lab.address(i)}/24`, "dev", "eth0"]);
        await ip(["-n", lab.namespace(i), "link", "set", "eth0", "up"]);
        await ip(["-n", lab.namespace(i), "link", "set", "lo", "up"]);
      }
    } catch (e) {
      await lab.close();
      throw e;
    }
    return lab;
  }

  /** Name of node `i`'s namespace. */
  namespace(i: number): string {
    return `rn${this.tag}-n${i}`;
  }

  /** Node `i`'s address. */
  address(i: number): string {
    return `${this.prefix}.${10 + i}`;
  }

  /** Command prefix that runs a program inside node `i`'s namespace. */
  exec(i: number): string[] {
    return [IP, "netns", "exec", this.namespace(i)];
  }

  /**
   * Cuts node `i` off the bridge (from every other node and from the root namespace). Detaching the veth alone is
   * not enough: the root namespace would still accept the node's packets to its own address arriving on the
   * detached veth (Linux's weak host model), so a request on an open connection to etcd would still land, one way.
   * The root side is also set down, so the node's link has no carrier and nothing leaves it.
   */
  async cut(i: number): Promise<void> {
    await ip(["link", "set", this.veth(i), "nomaster"]);
    await ip(["link", "set", this.veth(i), "down"]);
  }

  /** Joins node `i` to the bridge again. */
  async heal(i: number): Promise<void> {
    await ip(["link", "set", this.veth(i), "master", this.bridge, "up"]);
  }

  /** Deletes the namespaces, veths and bridge (stop the processes inside first). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    process.off("exit", this.onExit);
    for (let i = 1; i <= this.nodes; i++) {
      await runProc(IP, ["link", "del", this.veth(i)], { timeoutMs: 30_000 }).catch(() => {});
      await runProc(IP, ["netns", "del", this.namespace(i)], { timeoutMs: 30_000 }).catch(() => {});
    }
    await runProc(IP, ["link", "del", this.bridge], { timeoutMs: 30_000 }).catch(() => {});
  }

  private get bridge(): string {
    return `rnbr${this.tag}`;
  }

  private veth(i: number): string {
    return `rnv${this.tag}${i}`;
  }

  /** At process exit (a test that crashed): best-effort removal, synchronously. */
  private closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    const quiet = (args: string[]) => {
      try {
        execFileSync(IP, args, { stdio: "ignore" });
      } catch {
        // already gone
      }
    };
    for (let i = 1; i <= this.nodes; i++) {
      quiet(["link", "del", this.veth(i)]);
      quiet(["netns", "del", this.namespace(i)]);
    }
    quiet(["link", "del", this.bridge]);
  }
}

/** A random `10.A.B` (A in 100..249) that no route of this machine covers yet. */
async function freeSubnet(): Promise<string> {
  const routes = (await runProc(IP, ["-4", "route", "show", "table", "all"], { timeoutMs: 30_000 })).stdout;
  for (let n = 0; n < SUBNET_ATTEMPTS; n++) {
    const prefix = `10.${randomInt(100, 250)}.${randomInt(0, 256)}`;
    if (!routes.includes(`${prefix}.`)) return prefix;
  }
  throw new Error(`no free 10.x.y.0/24 found in ${SUBNET_ATTEMPTS} attempts`);
}
