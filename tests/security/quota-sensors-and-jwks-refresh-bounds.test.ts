/**
 * Bounds on per-client state an outsider can make the broker keep: quota sensors of clients that went quiet are
 * dropped once the broker holds QUOTA_SENSORS_PRUNED_ABOVE of them (a sensor still in debt is kept), and a flood of
 * tokens naming unknown JWKS key ids asks for at most MISSING_KID_MAX early refreshes a minute, but does not disable
 * them for good.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { QUOTA_SENSORS_PRUNED_ABOVE, QuotaRates } from "../../src/security/quota-rate.ts";
import { JwksSource } from "../../src/security/jwks-source.ts";

test("quota sensors of quiet clients are dropped past the bound; one in debt is kept", () => {
  const rates = new QuotaRates(11, 1000);
  assert.ok(rates.record("debtor", 10_000_000, 1000, 0) > 0, "the debtor owes");
  for (let i = 1; i < QUOTA_SENSORS_PRUNED_ABOVE; i++) rates.record(`client-${i}`, 10, 1000, 0);
  assert.equal(rates.size(), QUOTA_SENSORS_PRUNED_ABOVE);
  // 20 s later every quiet sensor is full again; the debtor (10 MB owed at 1 kB/s) is not.
  assert.equal(rates.record("newcomer", 10, 1000, 20_000), 0);
  assert.equal(rates.size(), 2);
  assert.ok(rates.owed("debtor", 1000, 20_000) > 0, "the debtor still owes");
});

test("unknown key ids: at most 16 early JWKS loads a minute, and again after a minute", async () => {
  let now = 0;
  let loads = 0;
  const jwk = { ...crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" }), kid: "k1" };
  const source = new JwksSource(
    { listener: "L", url: "https://idp.example/jwks", refreshMs: 3_600_000, backoffMs: 100, backoffMaxMs: 1000 },
    {
      readFile: () => new Uint8Array(0),
      get: async () => {
        loads++;
        return { status: 200, text: JSON.stringify({ keys: [jwk] }) };
      },
      monotonicMs: () => now,
      setTimer: () => null,
      clearTimer: () => {},
      log: () => {},
    },
  );
  await source.start();
  assert.equal(loads, 1);
  const settle = () => new Promise((r) => setTimeout(r, 0));
  for (let i = 0; i < 40; i++) {
    source.missingKid(`bogus-${i}`);
    await settle();
  }
  assert.equal(loads, 1 + 16, "16 distinct unknown ids each asked for one load, the rest none");
  source.missingKid("bogus-0");
  await settle();
  assert.equal(loads, 17, "an id asks again only after a minute");
  now = 61_000;
  source.missingKid("bogus-99");
  await settle();
  assert.equal(loads, 18, "a minute later a new unknown id asks for a load again");
  source.close();
});
