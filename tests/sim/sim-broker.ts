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
import type { SimWire } from "./sim-wire.ts";

/** The clock one process sees: its timers die with it. */
function processClock(sim: Sim): Clock & { kill(): void } {
  const live = new Set<unknown>();
  let alive = true;
  const base = sim.clock;
  return {
    nowMs: () => base.nowMs(),
    monotonicMs: () => base.monotonicMs(),
    setTimer(fn, ms) {
      const h: unknown = base.setTimer(() => {
        live.delete(h);
        if (alive) fn();
      }, ms);
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
  ) {}

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
    const b = await Broker.start(config, { fs: this.disk.view(), clock, logger, random: this.sim.random, listen: this.wire.listen });
    if (!live()) throw new Error("the broker process died while starting");
    this.onStarted(b);
    this.broker = b;
    return b;
  }

  /** Ends the process; with `powerCut` the machine loses power too (unsynced writes lost or torn). */
  crash(powerCut: boolean): void {
    this.incarnation++;
    this.clock?.kill();
    this.clock = null;
    this.broker = null;
    this.wire.cutAll();
    if (powerCut) this.disk.crash();
    else this.disk.endProcess();
  }
}
