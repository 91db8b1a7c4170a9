/** The test-only switch that removes fdatasync is refused unless NODE_ENV=test, and is off unless asked for. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { UNSAFE_SKIP_FDATASYNC_ENV, unsafeTestSwitches } from "../../src/cli/start.ts";

test("RUNNEL_UNSAFE_SKIP_FDATASYNC is refused outside tests, ignored when unset, and swaps the file system under NODE_ENV=test", () => {
  assert.deepEqual(unsafeTestSwitches({}), {});
  assert.deepEqual(unsafeTestSwitches({ [UNSAFE_SKIP_FDATASYNC_ENV]: "0", NODE_ENV: "test" }), {});
  const refused = unsafeTestSwitches({ [UNSAFE_SKIP_FDATASYNC_ENV]: "1", NODE_ENV: "production" });
  assert.equal(typeof refused, "string");
  assert.match(refused as string, /test-only/);
  assert.equal(typeof unsafeTestSwitches({ [UNSAFE_SKIP_FDATASYNC_ENV]: "yes", NODE_ENV: "test" }), "string");
  const on = unsafeTestSwitches({ [UNSAFE_SKIP_FDATASYNC_ENV]: "1", NODE_ENV: "test" });
  assert.ok(typeof on === "object" && on.fs !== undefined, "a file system without fdatasync");
});
