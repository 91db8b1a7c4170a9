/**
 * Starts a broker with its HTTP side (metrics, health, JSON API, console) for a test: Kafka and HTTP on
 * 127.0.0.1 with OS-chosen ports, a fresh temporary data directory removed by `stop()` (unless `keepDir`).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { BrokerConfig } from "../../src/broker/config.ts";
import type { BrokerDeps } from "../../src/broker/broker.ts";
import { startBrokerWithHttp, type RunningBroker } from "../../src/http/start-with-http.ts";
import type { HttpServer, ReadinessCheck } from "../../src/http/http-server.ts";
import { testLogger } from "./broker.ts";
import { testShards, TEST_SHARDS_ENV } from "./broker-process.ts";
import { startShardedTestBroker } from "./sharded-test-broker.ts";

/** A running broker with HTTP. */
export interface HttpTestBroker extends RunningBroker {
  /** "127.0.0.1:port" of the Kafka listener. */
  bootstrap: string;
  /** "http://127.0.0.1:port" (or https://) of the first HTTP listener. */
  url: string;
  /** Data directory. */
  dir: string;
  /** Stops everything and removes the directory (unless keepDir). */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

/**
 * Starts a broker with `http.listeners=http://127.0.0.1:0` plus `overrides`. Under `RUNNEL_TEST_SHARDS=N` (N > 1) it is
 * a sharded node in its own process (`runnel start --shards N`); of the in-process broker only what
 * tests/support/sharded-test-broker.ts offers is there, and `http` is null.
 */
export async function startHttpTestBroker(overrides: Record<string, string> = {}, opts: { dir?: string; deps?: BrokerDeps; onHttpBound?: (h: HttpServer) => void; logLines?: string[]; readiness?: ReadinessCheck } = {}): Promise<HttpTestBroker> {
  if (testShards() > 1) return startShardedHttpTestBroker(overrides, opts);
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "runnel-http-"));
  const values = new Map<string, string>([
    ["listeners", "PLAINTEXT://127.0.0.1:0"],
    ["http.listeners", "http://127.0.0.1:0"],
    ["log.dirs", dir],
    ["group.initial.rebalance.delay.ms", "0"],
    ["offsets.topic.num.partitions", "4"],
    ...Object.entries(overrides),
  ]);
  const r = await startBrokerWithHttp(new BrokerConfig(values), { logger: testLogger(opts.logLines), ...opts.deps }, opts.onHttpBound, opts.readiness);
  return {
    ...r,
    bootstrap: `127.0.0.1:${r.broker.port}`,
    url: `${values.get("http.listeners")!.startsWith("https:") ? "https" : "http"}://127.0.0.1:${r.http!.ports[0]}`,
    dir,
    async stop(o) {
      await r.stop();
      if (!o?.keepDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A broker's or sharded node's log line naming its HTTP side; group 1 is the URL of its first HTTP listener. */
export const HTTP_LINE = /HTTP \(metrics, health, console\) serving at (https?:\/\/[^,\s]+)/;

/** {@link startHttpTestBroker} under `RUNNEL_TEST_SHARDS`: the node's HTTP URL read from its log. */
async function startShardedHttpTestBroker(overrides: Record<string, string>, opts: { dir?: string; deps?: BrokerDeps; onHttpBound?: unknown; logLines?: string[]; readiness?: unknown }): Promise<HttpTestBroker> {
  if (opts.onHttpBound !== undefined || opts.readiness !== undefined) throw new Error(`this test hooks into the in-process HTTP server: it runs single-shard only, not under ${TEST_SHARDS_ENV}`);
  const lines = opts.logLines ?? [];
  const node = await startShardedTestBroker({ "http.listeners": "http://127.0.0.1:0", ...overrides }, opts.dir, lines, opts.deps ?? {});
  const url = lines.map((l) => HTTP_LINE.exec(l)?.[1]).find((u) => u !== undefined);
  if (url === undefined) {
    await node.stop();
    throw new Error("the sharded node logged no HTTP listener");
  }
  await waitUntilReady(url);
  return { broker: node.broker, http: null, bootstrap: node.bootstrap, url, dir: node.dir, stop: (o) => node.stop(o) };
}

/** Longest a test waits for a node's `/v1/ready` (a sharded node attaches its HTTP side once its front listens). */
const READY_TIMEOUT_MS = 30_000;

/** The status of a GET of `url` (0 when it fails); an https:// server's certificate is not checked (a probe). */
function probeStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const get = url.startsWith("https:") ? https.get : http.get;
    const req = get(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
  });
}

/** Polls `url`/v1/ready until it answers 200. */
export async function waitUntilReady(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const r = await probeStatus(`${url}/v1/ready`);
    if (r === 200) return;
    if (Date.now() > deadline) throw new Error(`${url}/v1/ready did not answer 200 within ${READY_TIMEOUT_MS} ms (last: ${r})`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/**
 * Settings for an `https://127.0.0.1:0` HTTP listener with the PEM keystore at `keystore`, basic auth against the
 * PLAIN users of `jaas`, and the standard authorizer with `User:admin` as super user.
 */
export function secureHttpSettings(keystore: string, jaas: string): Record<string, string> {
  return {
    "http.listeners": "https://127.0.0.1:0",
    "ssl.keystore.type": "PEM",
    "ssl.keystore.location": keystore,
    "sasl.jaas.config": jaas,
    "http.authentication.methods": "BASIC",
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:admin",
  };
}

/** GETs or sends JSON; returns status and parsed JSON (or text). */
export async function httpJson(url: string, method = "GET", body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

/** Whether Python's prometheus_client (the reference text-format parser) is importable. */
export function havePrometheusParser(): boolean {
  return spawnSync("/usr/bin/python3", ["-c", "import prometheus_client"]).status === 0;
}

/** One parsed sample. */
export interface PromSample {
  /** Sample name (with _bucket/_sum/_count/_total as written). */
  name: string;
  /** Labels. */
  labels: Record<string, string>;
  /** Value. */
  value: number;
}

/**
 * Parses a Prometheus text page with prometheus_client's parser (fails on any syntax error) and returns every
 * sample.
 */
export function parsePrometheus(text: string): PromSample[] {
  const script = `
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
`;
  const r = spawnSync("/usr/bin/python3", ["-c", script], { input: text, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`prometheus_client could not parse /metrics:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The value of the sample `name` whose labels include `labels` (exactly one must match). */
export function sampleValue(samples: PromSample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length);
  if (hits.length !== 1) throw new Error(`${hits.length} samples match ${name}${JSON.stringify(labels)}`);
  return hits[0].value;
}
