/**
 * Test certificates made with `openssl` in a fresh temp dir: a CA, a server certificate for 127.0.0.1/localhost,
 * and a client certificate (CN=alice,OU=eng,O=Runnel) signed by the CA, plus a second, untrusted CA's client
 * certificate. PEM files only; `remove()` deletes the dir.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { haveCommand } from "../support/proc.ts";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { SCRAM_ID, upsertScramUser } from "./scram-client.ts";

/** Paths of the generated PEM files. */
export interface TestCerts {
  dir: string;
  caCert: string;
  /** Server key and certificate chain in one PEM file (Kafka's PEM keystore). */
  serverKeystore: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
  /** A client certificate from a CA the broker does not trust. */
  rogueKey: string;
  rogueCert: string;
  remove(): void;
}

/** Why certificate tests cannot run here, or false. */
export const certSkip: string | false = haveCommand("openssl") ? false : "openssl is not installed";

function run(dir: string, args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
}

function issue(dir: string, name: string, subject: string, ca: string, ext: string): void {
  run(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  run(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-sha256", "-extfile", `${name}.ext`]);
}

/** Generates the CA and certificates. */
export function makeTestCerts(): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-certs-"));
  for (const ca of ["ca", "rogue-ca"]) run(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-days", "2", "-subj", `/CN=Runnel Test ${ca}`]);
  issue(dir, "server", "/CN=127.0.0.1", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  issue(dir, "client", "/O=Runnel/OU=eng/CN=alice", "ca", "extendedKeyUsage=clientAuth\n");
  issue(dir, "rogue", "/CN=mallory", "rogue-ca", "extendedKeyUsage=clientAuth\n");
  const p = (f: string) => path.join(dir, f);
  fs.writeFileSync(p("server.pem"), fs.readFileSync(p("server.key"), "utf8") + fs.readFileSync(p("server.crt"), "utf8"));
  return {
    dir,
    caCert: p("ca.crt"),
    serverKeystore: p("server.pem"),
    serverKey: p("server.key"),
    serverCert: p("server.crt"),
    clientKey: p("client.key"),
    clientCert: p("client.crt"),
    rogueKey: p("rogue.key"),
    rogueCert: p("rogue.crt"),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** A new server key and certificate (same CA, another serial and subject) as one PEM keystore text. */
export function reissueServerKeystore(certs: TestCerts, name: string): string {
  issue(certs.dir, name, `/CN=127.0.0.1/O=${name}`, "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  return fs.readFileSync(path.join(certs.dir, `${name}.key`), "utf8") + fs.readFileSync(path.join(certs.dir, `${name}.crt`), "utf8");
}

/** A broker with the test certificates, a log kept in memory, and SCRAM users made over its PLAINTEXT listener. */
export interface SecureBroker {
  broker: TestBroker;
  certs: TestCerts;
  logLines: string[];
  stop(): Promise<void>;
}

/** Makes certificates, starts a broker with `settings(certs)` and creates `scramUsers` (name, password, mechanism). */
export async function startSecureBroker(settings: (c: TestCerts) => Record<string, string>, scramUsers: Array<[string, string, keyof typeof SCRAM_ID, number?]> = []): Promise<SecureBroker> {
  const certs = makeTestCerts();
  const logLines: string[] = [];
  const broker = await startTestBroker(settings(certs), undefined, logLines);
  const admin = await RawClient.connect(broker.port);
  try {
    for (const [user, password, mechanism, iterations] of scramUsers) {
      const code = await upsertScramUser(admin, user, password, mechanism, iterations);
      if (code !== 0) throw new Error(`creating SCRAM user ${user} failed with error ${code}`);
    }
  } finally {
    admin.close();
  }
  return { broker, certs, logLines, stop: async () => { await broker.stop(); certs.remove(); } };
}
