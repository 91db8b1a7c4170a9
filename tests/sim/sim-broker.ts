/**
 * A real broker process inside the simulation: `Broker.start` on a {@link SimDisk} view, the simulation's clock and
 * seeded randomness, its Kafka listener on a {@link SimWire}. A crash ends the process at once: its timers never
 * fire again, its connections are reset, its disk view fails every call, and (on a power cut) the disk forgets or
 * tears what was not synced. A restart runs the broker's whole start-up (log recovery, topic loading, replay of
 * `__consumer_offsets` and `__transaction_state`) on what the disk kept.
 */
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import type { Clock } from "../../src/platform/clock.ts";
import type { Sim } from "./scheduler.ts";
import type { SimDisk } from "./sim-disk.ts";
import { simDialer, type SimWire } from "./sim-wire.ts";
import type { SimEtcd } from "./sim-etcd.ts";
import { ControlPlane } from "../../src/cluster/control-plane.ts";
import { clusterView } from "../../src/cli/start.ts";

/** A broker of a cluster: the simulated etcd its control plane talks to, and every broker's wire by port. */
export interface SimClusterMember {
  /** The simulated etcd. */
  etcd: SimEtcd;
  /** Each broker's listener port -> its wire (the replica fetchers dial through these). */
  wires: ReadonlyMap<number, SimWire>;
}

/** The clock one process sees: its timers die with it. */
function processClock(sim: Sim): Clock & { kill(): void } {
  const live = new Set<unknown>();
  let alive = true;
  const base = sim.clock;
  return {
    nowMs: () => base.nowMs(),
    monotonicMs: () => base.monotonicMs(),
    setTimer(fn, ms) {
      // Whole milliseconds, as the real clock's wall time is (a third of a lease TTL would make fractional times).
      const h: unknown = base.setTimer(() => {
        live.delete(h);
        if (alive) fn();
      }, Math.ceil(ms));
      live.add(h);
      return h;
    },
    clearTimer(h) {
      live.delete(h);
      base.clearTimer(h);
    },
    kill() {
      alive = false;
      for (const h of live) base.clearTimer(h);
      live.clear();
    },
  };
}

/** One broker machine: its disk, its network and the process running on it (or none while down). */
export class SimBrokerProcess {
  /** The running broker, or null while down or starting. */
  broker: Broker | null = null;
  /** Starts so far (the first is 1). */
  incarnation = 0;
  private clock: (Clock & { kill(): void }) | null = null;
  /** ERROR lines logged by the live process (a checker reads them). */
  readonly errors: string[] = [];

  constructor(
    private readonly sim: Sim,
    readonly disk: SimDisk,
    private readonly wire: SimWire,
    private readonly settings: Record<string, string>,
    /** Called with each started broker before clients reach it (planted bugs hook in here). */
    private readonly onStarted: (b: Broker) => void = () => {},
    /** Cluster mode: the control plane on the simulated etcd, replica fetchers over the simulated wires. */
    private readonly cluster: SimClusterMember | null = null,
  ) {}

  /** Called when the running broker shut itself down (every log dir failed): the process exits. */
  onExit: (reason: string) => void = () => {};

  /** The control plane of the running process (cluster mode), or null. */
  plane: ControlPlane | null = null;

  /** Starts a broker process on what the disk holds; resolves once it serves (or rejects when start-up fails). */
  async start(): Promise<Broker> {
    const inc = ++this.incarnation;
    const clock = processClock(this.sim);
    this.clock = clock;
    this.disk.readFaultsArmed = false;
    const live = () => this.incarnation === inc && this.clock === clock;
    const logger = {
      // Lines that carry this machine's limits or real time stay out of the trace (a seed replays on any machine).
      info: (m: string) => live() && !m.startsWith("file descriptors:") && this.sim.trace(`broker info: ${m.replace(/ready in \d+ ms/, "ready")}`),
      warn: (m: string) => live() && this.sim.trace(`broker warn: ${m}`),
      error: (m: string) => {
        if (!live()) return;
        this.sim.trace(`broker ERROR: ${m}`);
        this.errors.push(m);
      },
    };
    const config = new BrokerConfig(new Map(Object.entries(this.settings)));
    const nodeId = config.nodeId;
    let deps = {};
    if (this.cluster !== null) {
      const plane = await ControlPlane.start({
        endpoints: ["http://etcd:2379"],
        nodeId,
        sessionTimeoutMs: config.num("broker.session.timeout.ms"),
        clock,
        random: this.sim.random,
        transport: this.cluster.etcd.transport(nodeId, live),
        requestTimeoutMs: 1000, // etcd deadline: a cut-off broker notices within a lease TTL
        onRegistered: (epoch) => logger.info(`registered as broker ${nodeId}, epoch ${epoch}`),
        onFenced: (epoch) => logger.info(`broker epoch ${epoch} fenced`),
        onElected: (epoch) => logger.info(`controller (epoch ${epoch})`),
      });
      if (!live()) throw new Error("the broker process died while starting");
      this.plane = plane;
      config.values.set("cluster.id", await plane.store.adoptClusterId("c2ltdWxhdGVkLWNsdXN0ZXI"));
      deps = { metadata: plane.store, cluster: clusterView(plane), dial: simDialer(this.sim, this.cluster.wires, nodeId, live) };
    }
    if (!live()) throw new Error("the broker process died while starting");
    const onFatal = (reason: string) => {
      if (live()) this.onExit(reason);
    };
    const b = await Broker.start(config, { fs: this.disk.view(), clock, logger, random: this.sim.random, listen: this.wire.listen, onFatal, ...deps });
    if (!live()) throw new Error("the broker process died while starting");
    this.onStarted(b);
    this.broker = b;
    return b;
  }

  /**
   * Stops the running process cleanly, as SIGTERM does (`runnel start`): in a cluster a controlled shutdown first
   * (leaderships handed over), then `Broker.stop` (producer snapshots, final checkpoints, flushes, the clean-shutdown
   * marker), then the control plane closed; the process then exits. With `powerCutAtOp` the machine loses power
   * just before the stop's `powerCutAtOp`-th disk write, sync, rename or remove (unsynced writes lost or torn), or,
   * when the stop makes fewer, once it is over (the machine is down; its page cache is lost). With `cutFrom`, the
   * count starts at the stop's first disk call on a path beginning with it (SimDisk.armPowerCut). Resolves with what
   * happened; rejects when `Broker.stop` fails without a power cut.
   */
  async stopCleanly(powerCutAtOp: number | null, cutFrom: string | null = null): Promise<"stopped" | "power cut during stop" | "power cut after stop"> {
    const b = this.broker;
    if (b === null) throw new Error("no broker process is running");
    const plane = this.plane;
    const inc = this.incarnation;
    const live = () => this.incarnation === inc;
    if (plane !== null) await plane.controlledShutdown({ maxRetries: 2, retryBackoffMs: 300 }).catch(() => false);
    if (!live()) throw new Error("the process ended during its controlled shutdown");
    return new Promise((resolve, reject) => {
      if (powerCutAtOp !== null)
        this.disk.armPowerCut(powerCutAtOp, () => {
          this.sim.trace(`power cut during the clean stop (disk call ${powerCutAtOp})`);
          this.crash(true);
          resolve("power cut during stop");
        }, undefined, cutFrom);
      b.stop()
        .then(() => (live() && plane !== null ? plane.close().catch(() => {}) : undefined))
        .then(
          () => {
            if (!live()) return;
            const armed = this.disk.armPowerCut(null);
            this.crash(false);
            this.sim.trace("stopped cleanly");
            if (powerCutAtOp === null) return resolve("stopped");
            if (armed !== null) {
              this.sim.trace(`power cut after the clean stop (it made ${powerCutAtOp - armed} disk calls)`);
              this.disk.crash();
              return resolve("power cut after stop");
            }
          },
          (e) => {
            if (!live()) return;
            this.disk.armPowerCut(null);
            reject(e);
          },
        );
    });
  }

  /** Ends the process; with `powerCut` the machine loses power too (unsynced writes lost or torn). */
  crash(powerCut: boolean): void {
    this.incarnation++;
    this.clock?.kill();
    this.clock = null;
    this.broker = null;
    this.plane = null;
    this.wire.cutAll();
    if (powerCut) this.disk.crash();
    else this.disk.endProcess();
  }
}
