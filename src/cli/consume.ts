/**
 * `runnel consume TOPIC`: prints records, like `kafka-console-consumer`, `kcat -C` and `rpk topic consume`.
 * Without `--group` it reads the chosen partitions directly; with one it joins the group (committed offsets,
 * auto commit). Start at the beginning (default), the end, an offset, N before the end, or a timestamp; stop
 * after N records, at the end of every partition, after an idle timeout, or on Ctrl-C. Output formats: the value,
 * key and value, or JSON with metadata.
 */
import { parseArgs } from "node:util";
import { Consumer, type ConsumerRecord, type TopicPartition } from "../client/consumer.ts";
import { listOffsets } from "../client/list-offsets.ts";
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, clusterOptions, intFlag, runCommand, UsageError } from "./client-flags.ts";

/** Help text for `runnel consume`. */
export const CONSUME_USAGE = `Usage: runnel consume TOPIC [options]

Prints the records of TOPIC, one per line.

Options:
  -g, --group GROUP            Consume as a member of GROUP and commit what was printed. Beginning/end
                               apply only where the group has no committed offset; an offset, -N or a
                               timestamp always applies to the partitions assigned
  -p, --partition N[,N...]     Only these partitions (not with --group; repeatable)
  -o, --offset SPEC            Where to start: beginning (default), end, N (an offset), or
                               --offset=-N (N records before the end)
      --from-beginning         Same as --offset beginning
      --from-end               Same as --offset end
      --from-timestamp TIME    Start at the first record at or after TIME (ms since epoch or ISO-8601)
  -n, --num N                  Exit after N records
  -e, --exit-at-end            Exit once every partition's end is reached
      --timeout-ms MS          Exit after MS without a record
  -F, --format FORMAT          value (default), key-value, or json (with topic, partition, offset, timestamp, headers)
  -s, --key-separator SEP      Separator for key-value (default a tab)
      --read-committed         Skip records of aborted transactions
${CLIENT_FLAGS_HELP}`;

const FORMATS = ["value", "key-value", "json"] as const;
/** Longest single poll wait (bounds how late Ctrl-C and the exit conditions are noticed). */
const POLL_MS = 500;

type StartSpec = { kind: "beginning" } | { kind: "end" } | { kind: "offset"; offset: bigint } | { kind: "fromEnd"; back: bigint } | { kind: "timestamp"; ms: number };

function parseStart(values: { offset?: string; "from-beginning"?: boolean; "from-end"?: boolean; "from-timestamp"?: string }): StartSpec | null {
  const given = [values.offset !== undefined, values["from-beginning"] === true, values["from-end"] === true, values["from-timestamp"] !== undefined].filter(Boolean).length;
  if (given > 1) throw new UsageError("use only one of --offset, --from-beginning, --from-end, --from-timestamp");
  if (values["from-beginning"]) return { kind: "beginning" };
  if (values["from-end"]) return { kind: "end" };
  const ts = values["from-timestamp"];
  if (ts !== undefined) {
    const ms = /^\d+$/.test(ts) ? Number(ts) : Date.parse(ts);
    if (!Number.isFinite(ms)) throw new UsageError(`--from-timestamp expects ms since the epoch or an ISO-8601 time, got '${ts}'`);
    return { kind: "timestamp", ms };
  }
  const o = values.offset;
  if (o === undefined) return null;
  if (o === "beginning" || o === "start" || o === "earliest" || o === "oldest") return { kind: "beginning" };
  if (o === "end" || o === "latest" || o === "newest") return { kind: "end" };
  if (/^\d+$/.test(o)) return { kind: "offset", offset: BigInt(o) };
  if (/^-\d+$/.test(o)) return { kind: "fromEnd", back: BigInt(o.slice(1)) };
  throw new UsageError(`--offset expects beginning, end, N or -N, got '${o}'`);
}

const dec = new TextDecoder();

function text(b: Uint8Array | null): string | null {
  return b === null ? null : dec.decode(b);
}

/** Formats one record as a line (without the newline). */
export function formatRecord(r: ConsumerRecord, format: (typeof FORMATS)[number], separator: string): string {
  if (format === "value") return text(r.value) ?? "";
  if (format === "key-value") return `${text(r.key) ?? ""}${separator}${text(r.value) ?? ""}`;
  return JSON.stringify({
    topic: r.topic,
    partition: r.partition,
    offset: Number(r.offset),
    timestamp: r.timestamp,
    timestampType: r.timestampType,
    key: text(r.key),
    value: text(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: text(h.value) })),
  });
}

/** Runs `runnel consume`; returns the exit code. */
export function consumeCommand(argv: string[]): Promise<number> {
  return runCommand("consume", CONSUME_USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        ...CLIENT_FLAGS,
        group: { type: "string", short: "g" },
        partition: { type: "string", short: "p", multiple: true },
        offset: { type: "string", short: "o" },
        "from-beginning": { type: "boolean" },
        "from-end": { type: "boolean" },
        "from-timestamp": { type: "string" },
        num: { type: "string", short: "n" },
        "exit-at-end": { type: "boolean", short: "e" },
        "timeout-ms": { type: "string" },
        format: { type: "string", short: "F" },
        "key-separator": { type: "string", short: "s" },
        "read-committed": { type: "boolean" },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      console.log(CONSUME_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "consume needs a topic" : "consume takes exactly one topic");
    const topic = positionals[0];
    const format = (values.format ?? "value") as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, got '${values.format}'`);
    const separator = values["key-separator"] ?? "\t";
    const limit = intFlag("num", values.num, 1);
    const idleMs = intFlag("timeout-ms", values["timeout-ms"], 1);
    const start = parseStart(values);
    const group = values.group;
    let partitions: number[] | null = null;
    if (values.partition !== undefined) {
      if (group !== undefined) throw new UsageError("--partition cannot be used with --group");
      partitions = values.partition.flatMap((p) => p.split(",")).map((p) => intFlag("partition", p.trim())!);
    }
    const consumer: Consumer = new Consumer({
      ...clusterOptions(values),
      groupId: group,
      autoOffsetReset: start?.kind === "end" ? "latest" : "earliest",
      isolationLevel: values["read-committed"] ? "read_committed" : "read_uncommitted",
      onPartitionsAssigned: group === undefined || start === null || start.kind === "beginning" || start.kind === "end" ? undefined : (tps): Promise<void> => applyStart(consumer, tps, start),
    });
    let stop = false;
    const onSignal = () => {
      stop = true;
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    let count = 0;
    let broken = false;
    const onStdoutError = () => {
      broken = true;
      stop = true;
    };
    process.stdout.on("error", onStdoutError);
    try {
      await consumer.connect();
      const info = await consumer.cluster.waitForTopic(topic, 10_000);
      if (group === undefined) {
        const all = info.partitions.map((p) => p.partition);
        for (const p of partitions ?? []) {
          if (!all.includes(p)) throw new UsageError(`topic '${topic}' has no partition ${p} (it has ${all.length})`);
        }
        const tps = (partitions ?? all).map((partition) => ({ topic, partition }));
        consumer.assign(tps);
        await applyStart(consumer, tps, start ?? { kind: "beginning" });
      } else {
        consumer.subscribe([topic]);
      }
      let lastRecordAt = Date.now();
      while (!stop) {
        const records = await consumer.poll(POLL_MS);
        if (records.length > 0) {
          lastRecordAt = Date.now();
          let out = "";
          let printed = 0;
          for (const r of records) {
            if (limit !== undefined && count >= limit) break;
            out += formatRecord(r, format, separator) + "\n";
            count++;
            printed++;
          }
          if (!process.stdout.write(out)) await new Promise<void>((resolve) => process.stdout.once("drain", () => resolve()));
          if (limit !== undefined && count >= limit) {
            // Rewind partitions to their first record not printed, so a group commits only what was printed.
            const rewound = new Set<string>();
            for (let i = printed; i < records.length; i++) {
              const r = records[i];
              const k = `${r.topic}\u0000${r.partition}`;
              if (rewound.has(k)) continue;
              rewound.add(k);
              consumer.seek(r.topic, r.partition, r.offset);
            }
            break;
          }
        } else if (idleMs !== undefined && Date.now() - lastRecordAt >= idleMs) {
          break;
        }
        if (values["exit-at-end"] && atEnd(consumer)) break;
      }
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.stdout.off("error", onStdoutError);
      await consumer.close();
    }
    if (!broken) console.error(`Consumed ${count} record${count === 1 ? "" : "s"}`);
    return 0;
  });
}

/** Whether every assigned partition's position has reached its high watermark. */
function atEnd(consumer: Consumer): boolean {
  const tps = consumer.assignment();
  if (tps.length === 0) return false;
  for (const tp of tps) {
    const pos = consumer.position(tp.topic, tp.partition);
    const hw = consumer.highWatermark(tp.topic, tp.partition);
    if (pos === null || hw < 0n || pos < hw) return false;
  }
  return true;
}

/** Moves `tps` to where `start` says. */
async function applyStart(consumer: Consumer, tps: TopicPartition[], start: StartSpec): Promise<void> {
  switch (start.kind) {
    case "beginning":
      consumer.seekToBeginning(tps);
      return;
    case "end":
      consumer.seekToEnd(tps);
      return;
    case "timestamp":
      consumer.seekToTimestamp(start.ms, tps);
      return;
    case "offset":
      for (const tp of tps) consumer.seek(tp.topic, tp.partition, start.offset);
      return;
    case "fromEnd": {
      const q = tps.flatMap((tp) => [
        { topic: tp.topic, partition: tp.partition, timestamp: -2n },
        { topic: tp.topic, partition: tp.partition, timestamp: -1n },
      ]);
      const a = await listOffsets(consumer.cluster, q);
      tps.forEach((tp, i) => {
        const earliest = a[2 * i].offset;
        const latest = a[2 * i + 1].offset;
        const want = latest - start.back;
        consumer.seek(tp.topic, tp.partition, want < earliest ? earliest : want);
      });
      return;
    }
  }
}
