/** An EMFILE while the broker starts is explained: the open-files limit, what the broker needs, how to raise it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startFailureMessage } from "../../src/cli/start.ts";

test("EMFILE at start names the open-files limit and what is needed; other failures keep their message", () => {
  const emfile = Object.assign(new Error("EMFILE: too many open files, open '/data/t-7/00000000000000000000.log'"), { code: "EMFILE" });
  const text = startFailureMessage(emfile, 1024);
  assert.match(text, /open-files limit \(ulimit -n\) of 1024/);
  assert.match(text, /log\.open\.files\.max/);
  assert.match(text, /one per connection/);
  assert.match(text, /ulimit -n|LimitNOFILE/);
  assert.match(text, /t-7\/00000000000000000000\.log/);
  assert.equal(startFailureMessage(new Error("log.dirs lists no directory"), 1024), "log.dirs lists no directory");
});
