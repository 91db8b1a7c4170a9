/**
 * `runnel produce TOPIC`: sends one record per input line (stdin or `--file`), like `kafka-console-producer`
 * and `rpk topic produce`. Optional key separator, headers for every record, compression and producer settings.
 * Reading pauses while the producer's buffer is full; the exit code is 1 if any record failed.
 */
import { parseArgs } from "node:util";
import * as fs from "node:fs";
import * as readline from "node:readline";
import { Producer, type ProducerConfig } from "../client/producer.ts";
import type { RecordHeader } from "../protocol/record-batch.ts";
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, clusterOptions, intFlag, runCommand, UsageError } from "./client-flags.ts";

/** Help text for `runnel produce`. */
export const PRODUCE_USAGE = `Usage: runnel produce TOPIC [options]

Sends each line of stdin (or --file) as one record.

Options:
  -f, --file PATH              Read lines from a file instead of stdin
  -k, --key-separator SEP      Split each line at the first SEP into key and value
  -H, --header KEY=VALUE       Header added to every record (repeatable)
  -p, --partition N            Send every record to partition N (default: the partitioner)
  -z, --compression CODEC      none, gzip, snappy, lz4 or zstd (default none)
      --acks ACKS              0, 1 or all (default all)
      --linger-ms MS           linger.ms (default 5)
      --batch-size BYTES       batch.size (default 16384)
      --idempotent             enable.idempotence
      --max-message-bytes N    max.request.size (default 1048576)
  -v, --verbose                Print partition and offset of every record
${CLIENT_FLAGS_HELP}`;

/** How long to wait for the topic's metadata (auto-creation included) before giving up. */
const TOPIC_WAIT_MS = 10_000;

const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

/** Runs `runnel produce`; returns the exit code. */
export function produceCommand(argv: string[]): Promise<number> {
  return runCommand("produce", PRODUCE_USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        ...CLIENT_FLAGS,
        file: { type: "string", short: "f" },
        "key-separator": { type: "string", short: "k" },
        header: { type: "string", short: "H", multiple: true },
        partition: { type: "string", short: "p" },
        compression: { type: "string", short: "z" },
        acks: { type: "string" },
        "linger-ms": { type: "string" },
        "batch-size": { type: "string" },
        idempotent: { type: "boolean" },
        "max-message-bytes": { type: "string" },
        verbose: { type: "boolean", short: "v" },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      console.log(PRODUCE_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "produce needs a topic" : "produce takes exactly one topic");
    const topic = positionals[0];
    const compression = values.compression ?? "none";
    if (!(CODECS as readonly string[]).includes(compression)) throw new UsageError(`--compression must be one of ${CODECS.join(", ")}, got '${compression}'`);
    const acksText = values.acks ?? "all";
    const acks = acksText === "all" || acksText === "-1" ? -1 : acksText === "1" ? 1 : acksText === "0" ? 0 : null;
    if (acks === null) throw new UsageError(`--acks must be 0, 1 or all, got '${acksText}'`);
    const partition = intFlag("partition", values.partition);
    const separator = values["key-separator"];
    if (separator === "") throw new UsageError("--key-separator must not be empty");
    const enc = new TextEncoder();
    const headers: RecordHeader[] = [];
    for (const h of values.header ?? []) {
      const eq = h.indexOf("=");
      if (eq <= 0) throw new UsageError(`--header expects KEY=VALUE, got '${h}'`);
      headers.push({ key: h.slice(0, eq), value: enc.encode(h.slice(eq + 1)) });
    }
    if (values.file !== undefined && !fs.existsSync(values.file)) throw new UsageError(`no such file: ${values.file}`);
    const config: ProducerConfig = {
      ...clusterOptions(values),
      acks: acks as 0 | 1 | -1,
      compressionType: compression as ProducerConfig["compressionType"],
      lingerMs: intFlag("linger-ms", values["linger-ms"]),
      batchSize: intFlag("batch-size", values["batch-size"], 100),
      enableIdempotence: values.idempotent ?? false,
      maxRequestSize: intFlag("max-message-bytes", values["max-message-bytes"], 100),
    };
    const producer = new Producer(config);
    await producer.connect();
    await producer.cluster.waitForTopic(topic, TOPIC_WAIT_MS).catch(async (e) => {
      await producer.close({ timeoutMs: 0 });
      throw e;
    });
    const input = values.file !== undefined ? fs.createReadStream(values.file) : process.stdin;
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    let sent = 0;
    let acked = 0;
    let failed = 0;
    let firstError: Error | null = null;
    let lineNo = 0;
    const verbose = values.verbose ?? false;
    try {
      for await (const line of lines) {
        lineNo++;
        let key: Uint8Array | null = null;
        let value = line;
        if (separator !== undefined) {
          const at = line.indexOf(separator);
          if (at < 0) throw new Error(`line ${lineNo} has no key separator '${separator}'`);
          key = enc.encode(line.slice(0, at));
          value = line.slice(at + separator.length);
        }
        producer.send({ topic, key, value: enc.encode(value), partition, headers: headers.length > 0 ? headers : undefined }, (err, meta) => {
          if (err !== null) {
            failed++;
            firstError ??= err;
            return;
          }
          acked++;
          if (verbose) process.stdout.write(`${meta!.topic}\t${meta!.partition}\t${meta!.offset}\n`);
        });
        sent++;
        if (producer.blockedRecords > 0) await producer.waitForCapacity();
      }
    } finally {
      lines.close();
      await producer.close();
    }
    if (failed > 0) {
      console.error(`runnel produce: ${failed} of ${sent} records failed; first error: ${(firstError as Error | null)?.message}`);
      return 1;
    }
    console.error(`Produced ${acked} record${acked === 1 ? "" : "s"} to ${topic}`);
    return 0;
  });
}
