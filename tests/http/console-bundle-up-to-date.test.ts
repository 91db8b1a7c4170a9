/** The console bundle embedded in the program (console-bundle.generated.ts) is what src/http/console builds to. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { runProc } from "../support/proc.ts";
import { ROOT } from "../support/broker-process.ts";

test("the committed console bundle matches its sources", { timeout: 60_000 }, async () => {
  const r = await runProc(path.join(ROOT, "node_modules/.bin/bun"), [path.join(ROOT, "src/http/console/build-console.ts"), "--check"], { timeoutMs: 50_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
});
