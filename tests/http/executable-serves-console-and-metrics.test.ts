/**
 * The compiled executable, copied alone into an empty directory, serves the web console (its page, script and
 * styles, embedded at build time), /metrics and /v1/ready on its HTTP listener.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../support/broker-process.ts";
import { HTTP_LINE } from "../support/http-broker.ts";

test("dist/runnel alone in an empty directory serves the console and /metrics", { timeout: 120_000 }, async () => {
  const bin = path.join(ROOT, "dist/runnel");
  assert.ok(fs.existsSync(bin), "dist/runnel exists (npm run build makes it; npm test builds first)");
  const alone = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-alone-"));
  fs.copyFileSync(bin, path.join(alone, "runnel"));
  fs.chmodSync(path.join(alone, "runnel"), 0o755);
  const child = spawn(path.join(alone, "runnel"), ["start", "--port", "0", "--http", "http://127.0.0.1:0", "--data-dir", path.join(alone, "data")], { cwd: alone, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, sig) => resolve(code ?? sig)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on("data", (d) => {
        log += d.toString();
        const http = HTTP_LINE.exec(log);
        if (http && /listening on PLAINTEXT:\/\//.test(log)) resolve(http[1]);
      });
      child.on("exit", () => reject(new Error(`exited before ready:\n${log}`)));
    });
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<div id="app"><\/div>/);
    for (const asset of ["/app.js", "/app.css", "/favicon.svg"]) {
      assert.ok(html.includes(asset), `index.html links ${asset}`);
      const r = await fetch(`${url}${asset}`);
      assert.equal(r.status, 200, asset);
      assert.ok((await r.text()).length > 100, `${asset} has content`);
    }
    const ready = await fetch(`${url}/v1/ready`);
    assert.equal(ready.status, 200);
    const metrics = await fetch(`${url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^# TYPE kafka_network_requestmetrics_requests_total counter$/m);
    assert.deepEqual(fs.readdirSync(alone).sort(), ["data", "runnel"], "nothing was written beside the executable");
  } finally {
    child.kill("SIGTERM");
    assert.equal(await exited, 0, log.slice(-2000));
    fs.rmSync(alone, { recursive: true, force: true });
  }
});
