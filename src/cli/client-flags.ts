/**
 * What the client commands (topic, produce, consume, group) share: the `--bootstrap` flag (default
 * 127.0.0.1:9092, or RUNNEL_BOOTSTRAP), `--client-id`, usage errors, and one place that turns failures into a
 * clear message on stderr and an exit code (2: bad usage, 1: the operation failed).
 */
import { errorName, KafkaError } from "../protocol/errors.ts";
import { ConnectionError } from "../client/client-errors.ts";
import type { ClusterOptions } from "../client/cluster-metadata.ts";
import { parseProperties } from "../broker/config.ts";
import { nodeFileSystem } from "../platform/fs.ts";
import { clientSecurityFromProperties } from "../security/client-properties.ts";

/** Default bootstrap server. */
export const DEFAULT_BOOTSTRAP = "127.0.0.1:9092";

/** Exit code for bad usage. */
export const EXIT_USAGE = 2;
/** Exit code for a failed operation. */
export const EXIT_FAILURE = 1;

/** parseArgs options every client command accepts. */
export const CLIENT_FLAGS = {
  bootstrap: { type: "string", short: "b" },
  "client-id": { type: "string" },
  "command-config": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Help lines for {@link CLIENT_FLAGS}. */
export const CLIENT_FLAGS_HELP = `  -b, --bootstrap HOST:PORT  Broker(s) to connect to (default ${DEFAULT_BOOTSTRAP}, or RUNNEL_BOOTSTRAP)
      --client-id ID         client.id sent to the broker (default runnel-cli)
      --command-config FILE  Kafka client properties: security.protocol, sasl.mechanism, sasl.jaas.config,
                             ssl.truststore.location, ssl.keystore.location (PEM)
  -h, --help                 Show this help`;

/** A mistake in the command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Client settings from the common flags. */
export function clusterOptions(values: { bootstrap?: string; "client-id"?: string; "command-config"?: string }): ClusterOptions {
  let security = {};
  const file = values["command-config"];
  if (file !== undefined) {
    try {
      security = clientSecurityFromProperties(parseProperties(new TextDecoder().decode(nodeFileSystem.readFile(file))), nodeFileSystem);
    } catch (e) {
      throw new UsageError(`--command-config ${file}: ${(e as Error).message}`);
    }
  }
  return {
    bootstrap: values.bootstrap ?? process.env.RUNNEL_BOOTSTRAP ?? DEFAULT_BOOTSTRAP,
    clientId: values["client-id"] ?? "runnel-cli",
    connectTimeoutMs: 10_000,
    ...security,
  };
}

/** Parses a non-negative integer flag. */
export function intFlag(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} expects an integer >= ${min}, got '${value}'`);
  return n;
}

/** Parses "key=value" items into a record. */
export function keyValues(name: string, items: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${name} expects key=value, got '${item}'`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1);
  }
  return out;
}

/** Runs a command body: prints errors clearly and returns the exit code. */
export async function runCommand(command: string, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`runnel ${command}: ${e.message}\n\n${usage}`);
      return EXIT_USAGE;
    }
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`runnel ${command}: ${e.message}\n\n${usage}`);
      return EXIT_USAGE;
    }
    if (e instanceof ConnectionError) {
      console.error(`runnel ${command}: ${e.message}`);
      return EXIT_FAILURE;
    }
    if (e instanceof KafkaError) {
      const name = errorName(e.code);
      console.error(`runnel ${command}: ${e.message.includes(name) ? e.message : `${e.message} (${name})`}`);
      return EXIT_FAILURE;
    }
    console.error(`runnel ${command}: ${(e as Error)?.message ?? e}`);
    return EXIT_FAILURE;
  }
}
