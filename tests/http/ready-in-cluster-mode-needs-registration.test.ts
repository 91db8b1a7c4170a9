/**
 * `/v1/ready` in cluster mode against a real etcd: ready once the broker holds its registration; when its lease is
 * lost (revoked in etcd) and the node id is held by someone else, it is fenced and answers 503 naming the reason;
 * once the node id is free it registers again and is ready again. The control plane's keep-alives and retries run on
 * a manual clock, so each step waits for a positive event.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ControlPlane } from "../../src/cluster/control-plane.ts";
import { ClusterKeys } from "../../src/cluster/cluster-keys.ts";
import { BROKER_REGISTRATION_RETRY_BACKOFF_MS } from "../../src/cluster/broker-session.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { startHttpTestBroker, httpJson } from "../support/http-broker.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();

/** Polls `/v1/ready` (moving the manual clock between polls) until it answers `status`. */
async function readyBecomes(url: string, status: number, clock: ManualClock, stepMs: number): Promise<{ status: number; body: any }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await httpJson(`${url}/v1/ready`);
    if (r.status === status) return r;
    assert.ok(Date.now() < deadline, `/v1/ready still ${r.status} ${JSON.stringify(r.body)} after 30 s`);
    clock.advance(stepMs);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("cluster mode: /v1/ready is 200 while registered in etcd, 503 while fenced, 200 after re-registering", { skip, timeout: 120_000 }, async () => {
  const root = "/ready-cluster";
  const keys = new ClusterKeys(root);
  const clock = new ManualClock();
  const plane = await ControlPlane.start({ endpoints: [ctx.etcd.endpoint], root, nodeId: 11, sessionTimeoutMs: 1_000, clock });
  let b: Awaited<ReturnType<typeof startHttpTestBroker>> | null = null;
  try {
    b = await startHttpTestBroker({ "node.id": "11", "metadata.etcd.endpoints": ctx.etcd.endpoint }, { deps: { metadata: plane.store }, readiness: () => plane.readinessProblem() });
    const ready = await httpJson(`${b.url}/v1/ready`);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    const epoch = plane.store.brokerEpoch;
    assert.ok(epoch > 0);

    // Lose the lease in etcd and let another holder take node id 11: the next keep-alive fences the broker.
    await ctx.client.leaseRevoke(plane.store.leaseId!);
    const squatter = await ctx.client.leaseGrant(60);
    await ctx.client.put(keys.broker(11), JSON.stringify({ nodeId: 11, rack: null, endpoints: [] }), squatter.id);
    const fenced = await readyBecomes(b.url, 503, clock, 400);
    assert.equal(fenced.body.status, "not ready");
    assert.match(fenced.body.reason, /not registered/);
    assert.equal(plane.store.brokerEpoch, -1);
    assert.equal((await httpJson(`${b.url}/v1/health`)).status, 200, "still live while not ready");

    // Node id free again: the broker registers with a new epoch and is ready.
    await ctx.client.leaseRevoke(squatter.id);
    await readyBecomes(b.url, 200, clock, BROKER_REGISTRATION_RETRY_BACKOFF_MS);
    assert.ok(plane.store.brokerEpoch > epoch, `new epoch ${plane.store.brokerEpoch} > ${epoch}`);
  } finally {
    await b?.stop();
    await plane.close();
  }
});
