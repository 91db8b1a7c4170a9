/** A broker for ACL tests: one SASL_PLAINTEXT listener with PLAIN users admin (a super user) and alice, and the authorizer on. */
import * as fs from "node:fs";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";

const JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw" user_alice="alice-pw";';

/** Starts the broker (`overrides` added to its config); every user's password is `<user>-pw`. */
export function startAclBroker(overrides: Record<string, string> = {}): Promise<TestBroker> {
  return startTestBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:admin",
    ...overrides,
  });
}

/** A kafkajs client of `b` logged in as `user`, without retries. */
export function aclClient(b: TestBroker, user: string): Kafka {
  return new Kafka({ clientId: user, brokers: [b.bootstrap], sasl: { mechanism: "plain", username: user, password: `${user}-pw` }, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
}

/** Writes Kafka client properties logging in to the broker as `user` (for Kafka's tools' --command-config) into `dir`; returns the file. */
export function aclClientProperties(dir: string, user: string): string {
  const file = path.join(dir, `${user}.properties`);
  fs.writeFileSync(file, ["security.protocol=SASL_PLAINTEXT", "sasl.mechanism=PLAIN", `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${user}" password="${user}-pw";`, ""].join("\n"));
  return file;
}
