/**
 * Control-plane settings: `metadata.etcd.endpoints` accepts comma-separated http(s)://host:port URLs and refuses
 * anything else with a message naming the key; a broker's endpoint for `inter.broker.listener.name` is found by name.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { listenerEndpoint, parseEtcdEndpoints } from "../../src/cluster/cluster-endpoints.ts";

test("metadata.etcd.endpoints: comma-separated http(s)://host:port, anything else refused naming the key", () => {
  assert.deepEqual(parseEtcdEndpoints("http://127.0.0.1:2379, http://10.0.0.2:2379,"), ["http://127.0.0.1:2379", "http://10.0.0.2:2379"]);
  assert.deepEqual(parseEtcdEndpoints("https://etcd.example:2379"), ["https://etcd.example:2379"]);
  for (const bad of ["127.0.0.1:2379", "http://127.0.0.1", "ftp://h:1", "http://h:1/v3", "not a url"]) {
    assert.throws(() => parseEtcdEndpoints(bad), /metadata\.etcd\.endpoints/, bad);
  }
});

test("the inter-broker listener's endpoint is found by listener name", () => {
  const broker = { nodeId: 1, brokerEpoch: 5, rack: null, endpoints: [{ name: "PLAINTEXT", host: "a", port: 1, securityProtocol: "PLAINTEXT" }, { name: "REPLICATION", host: "b", port: 2, securityProtocol: "PLAINTEXT" }] };
  assert.equal(listenerEndpoint(broker, "REPLICATION")?.host, "b");
  assert.equal(listenerEndpoint(broker, "INTERNAL"), undefined);
});
