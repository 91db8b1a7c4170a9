/**
 * TLS certificate reload without a restart: when the PEM keystore file changes, new connections get the new
 * certificate (checked by its serial, and kcat still verifies the chain) while the broker keeps serving; a broken
 * file is reported and the current material kept.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as tls from "node:tls";
import { haveCommand, runProc } from "../support/proc.ts";
import { acceptingThreads } from "../support/sharded-test-broker.ts";
import { certSkip, reissueServerKeystore, startSecureBroker } from "./test-certs.ts";

const skip = certSkip || (haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)");

/** The serial number of the certificate the server presents now. */
function serialOf(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca: fs.readFileSync(ca), servername: "localhost" }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      resolve(serial);
    });
    s.once("error", reject);
  });
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(cond(), what);
}

test("a changed keystore file is used for new TLS connections; a broken one is reported and ignored", { skip, timeout: 120_000 }, async () => {
  const secure = await startSecureBroker((c) => ({ listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", "ssl.keystore.location": c.serverKeystore, "ssl.reload.check.interval.ms": "100" }));
  try {
    const port = secure.broker.broker.listenerPort("SSL");
    const before = await serialOf(port, secure.certs.caCert);
    // Every accepting thread has read the first keystore before it changes: a sharded node logs its listening line,
    // which the helpers wait for, once every thread's front listens (a thread started after the change would serve
    // the new file from the start and have nothing to reload).
    const threads = acceptingThreads(secure.logLines);
    const next = reissueServerKeystore(secure.certs, "server2");
    fs.writeFileSync(`${secure.certs.serverKeystore}.tmp`, next);
    fs.renameSync(`${secure.certs.serverKeystore}.tmp`, secure.certs.serverKeystore);
    const logged = (text: string) => secure.logLines.filter((l) => l.includes(text)).length >= threads;
    await until("the reload is logged by every accepting thread", () => logged("listener SSL: reloaded the TLS key and certificates"));
    const after = await serialOf(port, secure.certs.caCert);
    assert.notEqual(after, before);
    const md = await runProc("kcat", ["-L", "-b", `127.0.0.1:${port}`, "-X", "security.protocol=ssl", "-X", `ssl.ca.location=${secure.certs.caCert}`], { timeoutMs: 30_000 });
    assert.equal(md.code, 0, md.stderr);

    fs.writeFileSync(secure.certs.serverKeystore, "-----BEGIN CERTIFICATE-----\nnot pem\n-----END CERTIFICATE-----\n");
    await until("the broken file is reported by every accepting thread", () => logged("keeping the current TLS material"));
    assert.equal(await serialOf(port, secure.certs.caCert), after);
  } finally {
    await secure.stop();
  }
});
