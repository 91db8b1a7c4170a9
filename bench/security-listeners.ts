/**
 * Produce and consume throughput over PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-512) listeners of one broker, in one
 * report: kcat (librdkafka) produces `--records` records of `--size` bytes with acks=all to a one-partition topic
 * per listener, then reads them back; records/s and MB/s per listener and their ratio to PLAINTEXT. Certificates
 * come from openssl in a temporary directory.
 *
 *   bun bench/security-listeners.ts [--records 300000] [--size 200]
 */
import { parseArgs } from "node:util";
import { runProc } from "../tests/support/proc.ts";
import { startSecureBroker } from "../tests/security/test-certs.ts";

const { values } = parseArgs({ options: { records: { type: "string", default: "300000" }, size: { type: "string", default: "200" } } });
const N = Number(values.records);
const SIZE = Number(values.size);
const secure = await startSecureBroker((c) => ({
  listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
  "ssl.keystore.location": c.serverKeystore,
  "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
}), [["bench", "bench-pw", "SCRAM-SHA-512"]]);
try {
  const ca = secure.certs.caCert;
  const security: Record<string, string[]> = {
    PLAINTEXT: [],
    SSL: ["-X", "security.protocol=ssl", "-X", `ssl.ca.location=${ca}`],
    SASL_SSL: ["-X", "security.protocol=sasl_ssl", "-X", `ssl.ca.location=${ca}`, "-X", "sasl.mechanism=SCRAM-SHA-512", "-X", "sasl.username=bench", "-X", "sasl.password=bench-pw"],
  };
  const input = Array.from({ length: N }, () => "x".repeat(SIZE)).join("\n") + "\n";
  const rows: Array<{ name: string; produce: number; consume: number }> = [];
  for (const [name, sec] of Object.entries(security)) {
    const topic = `bench-${name.toLowerCase()}`;
    await secure.broker.broker.createTopic(topic, 1, 1, {}, false);
    const at = `127.0.0.1:${secure.broker.broker.listenerPort(name)}`;
    let t = performance.now();
    const p = await runProc("kcat", ["-P", "-b", at, "-t", topic, "-X", "acks=all", "-X", "linger.ms=5", ...sec], { input, timeoutMs: 600_000 });
    if (p.code !== 0) throw new Error(`${name} produce failed: ${p.stderr}`);
    const produce = N / ((performance.now() - t) / 1000);
    t = performance.now();
    const q = await runProc("kcat", ["-C", "-b", at, "-t", topic, "-o", "beginning", "-e", "-q", "-c", String(N), ...sec], { timeoutMs: 600_000 });
    if (q.code !== 0) throw new Error(`${name} consume failed: ${q.stderr}`);
    rows.push({ name, produce, consume: N / ((performance.now() - t) / 1000) });
  }
  const base = rows[0];
  console.log(`${N} records of ${SIZE} bytes, kcat acks=all, one partition`);
  for (const r of rows) {
    const mb = (x: number) => ((x * SIZE) / 1e6).toFixed(1);
    console.log(`${r.name.padEnd(10)} produce ${r.produce.toFixed(0).padStart(8)} rec/s ${mb(r.produce).padStart(6)} MB/s (${(r.produce / base.produce).toFixed(2)}x)   consume ${r.consume.toFixed(0).padStart(8)} rec/s ${mb(r.consume).padStart(6)} MB/s (${(r.consume / base.consume).toFixed(2)}x)`);
  }
} finally {
  await secure.stop();
}
