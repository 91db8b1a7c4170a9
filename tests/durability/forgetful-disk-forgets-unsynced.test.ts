/**
 * The forgetful disk itself: after a power cut only what was fsynced remains. File data needs an fsync of the
 * file, and creates, renames and unlinks need an fsync of their directory.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { forgetfulDiskSkipReason, mountForgetfulDisk, type ForgetfulDisk } from "./forgetful-disk.ts";

const skip = await forgetfulDiskSkipReason();
let disk: ForgetfulDisk;

before(async () => {
  if (!skip) disk = await mountForgetfulDisk();
});
after(async () => {
  await disk?.unmount();
});

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

function writeFile(file: string, text: string, sync: boolean): void {
  const fd = fs.openSync(file, "a");
  fs.writeSync(fd, text);
  if (sync) fs.fdatasyncSync(fd);
  fs.closeSync(fd);
}

test("a write never synced is gone after a power cut, with its unsynced directory entry", { skip }, () => {
  const f = path.join(disk.dir, "unsynced");
  writeFile(f, "lost", false);
  assert.equal(fs.readFileSync(f, "utf8"), "lost");
  disk.cut();
  assert.equal(fs.existsSync(f), false);
});

test("fdatasync of the file and fsync of its directory keep both the data and the name", { skip }, () => {
  const f = path.join(disk.dir, "synced");
  writeFile(f, "kept", true);
  syncDir(disk.dir);
  writeFile(f, "+tail", false);
  assert.equal(fs.readFileSync(f, "utf8"), "kept+tail");
  disk.cut();
  assert.equal(fs.readFileSync(f, "utf8"), "kept");
});

test("a synced file whose directory was never synced vanishes", { skip }, () => {
  const sub = path.join(disk.dir, "sub");
  fs.mkdirSync(sub);
  syncDir(disk.dir);
  const f = path.join(sub, "new-file");
  writeFile(f, "data", true);
  disk.cut();
  assert.equal(fs.existsSync(sub), true);
  assert.equal(fs.existsSync(f), false);
});

test("a rename lasts only once its directory is synced; an unsynced unlink is undone", { skip }, () => {
  const a = path.join(disk.dir, "a");
  const b = path.join(disk.dir, "b");
  writeFile(a, "A", true);
  syncDir(disk.dir);
  fs.renameSync(a, b);
  disk.cut();
  assert.equal(fs.readFileSync(a, "utf8"), "A");
  assert.equal(fs.existsSync(b), false);
  fs.renameSync(a, b);
  syncDir(disk.dir);
  disk.cut();
  assert.equal(fs.existsSync(a), false);
  assert.equal(fs.readFileSync(b, "utf8"), "A");
  fs.unlinkSync(b);
  disk.cut();
  assert.equal(fs.readFileSync(b, "utf8"), "A");
});
