/**
 * acked_producer.py (confluent-kafka, acks=all) as a child process: counts the acknowledgements it prints, waits for a
 * number of them (a positive event), and on stop returns offset -> key of every acknowledged record.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { PYTHON } from "../support/proc.ts";
import { parseAcks } from "./read-partition.ts";

const PRODUCER = path.join(import.meta.dirname, "acked_producer.py");

/** A running acked_producer.py. */
export interface AckedProducer {
  /** Resolves once `n` records are acknowledged; rejects after `timeoutMs` naming `context()`. */
  waitForAcks(n: number, timeoutMs: number, context: () => string): Promise<void>;
  /** Kills the producer (SIGKILL) and returns offset -> key of every acknowledgement it printed. */
  kill(): Promise<Map<number, string>>;
}

/** Starts acked_producer.py producing `valueBytes` values with keys `prefix-i` to `topic`-`partition` on `bootstrap`. */
export function startAckedProducer(bootstrap: string, topic: string, prefix: string, valueBytes: number, partition = 0): AckedProducer {
  const child = spawn(PYTHON, [PRODUCER, bootstrap, topic, prefix, String(valueBytes), String(partition)], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let seen = 0;
  const waiters: (() => void)[] = [];
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  child.stderr!.on("data", (d) => (err += d.toString()));
  child.stdout!.on("data", (d) => {
    out += d.toString();
    seen = out.split("\n").length - 1;
    for (const w of waiters.splice(0)) w();
  });
  return {
    waitForAcks(n, timeoutMs, context) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${seen} of ${n} acks on ${topic}-${partition} in ${timeoutMs} ms: ${err}\n${context()}`)), timeoutMs);
        const check = () => {
          if (seen >= n) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      });
    },
    async kill() {
      child.kill("SIGKILL");
      await closed;
      return parseAcks(out);
    },
  };
}
