/** A broker for ACL tests: one SASL_PLAINTEXT listener with PLAIN users admin (a super user) and alice, and the authorizer on. */
import * as fs from "node:fs";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";

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

/** Commits offset 0 of partition 0 of `topic` for `groups` as the super user admin (a simple commit: no member, as Kafka's tools make). */
export async function commitAsAdmin(b: TestBroker, topic: string, groups: readonly string[]): Promise<void> {
  const c = await RawClient.connect(b.port);
  try {
    if ((await c.request(17, 1, { mechanism: "PLAIN" })).errorCode !== 0 || (await c.request(36, 2, { authBytes: Buffer.from("\0admin\0admin-pw") })).errorCode !== 0) throw new Error("admin login failed");
    for (const groupId of groups) {
      await c.findCoordinator(groupId, 0);
      const r = await c.requestWhileCoordinatorLoads(8, 8, { groupId, generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: null }] }] }, (r) => r.topics[0].partitions[0].errorCode);
      const code = r.topics[0].partitions[0].errorCode;
      if (code !== 0) throw new Error(`committing for ${groupId} failed with error ${code}`);
    }
  } finally {
    c.close();
  }
}
