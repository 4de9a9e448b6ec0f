/**
 * writeFileAtomic on a failing disk: short writes are completed, and a write error (full disk, quota, read-only file
 * system, permissions) leaves the previous file as it was, removes the temporary file and throws one E_WRITE.
 * Failures are injected by replacing fs.writeSync (syncBuiltinESMExports makes the engine's `import { writeSync }`
 * see the replacement); where this process may mount a 64 KiB tmpfs, a real ENOSPC is produced as well.
 */
import assert from "node:assert/strict";
import fs, { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, mock, test } from "node:test";
import { arange, loadSafetensors, saveSafetensors, writeFileAtomic } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { fullDisk } from "../support/tmp.js";

const root = mkdtempSync(join(tmpdir(), "tasksr-atomic-"));
after(() => rmSync(root, { recursive: true, force: true }));

const realWrite = fs.writeSync;
type Write = (fd: number, buf: Buffer, offset: number, length: number) => number;

/** Runs `body` with fs.writeSync replaced by `fake`; the real one is back afterwards even if `body` throws. */
function withWrite(fake: Write, body: () => void): void {
  mock.method(fs, "writeSync", fake as typeof fs.writeSync);
  syncBuiltinESMExports();
  try {
    body();
  } finally {
    mock.restoreAll();
    syncBuiltinESMExports();
  }
}

const errno = (code: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: injected failure, write`), { code, syscall: "write" });

/** A folder holding `latest.safetensors` with `previous` in it. */
function folderWith(name: string, previous: Buffer): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "latest.safetensors"), previous);
  return dir;
}

const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 0xff));

test("writeFileAtomic writes every byte when write(2) takes only part of them", () => {
  const dir = folderWith("short", bytes(10));
  const path = join(dir, "latest.safetensors");
  const data = bytes(10_000);
  let calls = 0;
  withWrite(
    (fd, buf, offset, length) => {
      calls++;
      return realWrite(fd, buf, offset, Math.min(length, 999));
    },
    () => writeFileAtomic(path, data),
  );
  assert.ok(calls >= 11, `write(2) called ${calls} times`);
  assert.deepEqual(readFileSync(path), data);
  assert.deepEqual(readdirSync(dir), ["latest.safetensors"]);
});

const REASONS: [string, RegExp][] = [
  ["ENOSPC", /no space left on the device \(ENOSPC\)/],
  ["EDQUOT", /disk quota exceeded \(EDQUOT\)/],
  ["EROFS", /read-only file system \(EROFS\)/],
  ["EACCES", /permission denied \(EACCES\)/],
];

for (const [code, reason] of REASONS) {
  test(`a write failing with ${code} after a short write keeps the previous file, leaves no temporary file and throws one E_WRITE naming the path`, () => {
    const previous = bytes(100);
    const dir = folderWith(code, previous);
    const path = join(dir, "latest.safetensors");
    let calls = 0;
    withWrite(
      (fd, buf, offset, length) => {
        // The first call writes half, as write(2) does on a disk that fills up; the next one fails.
        if (calls++ === 0) return realWrite(fd, buf, offset, length >> 1);
        throw errno(code);
      },
      () =>
        assert.throws(
          () => writeFileAtomic(path, bytes(4096)),
          (e: unknown) =>
            e instanceof TasksrError &&
            e.code === "E_WRITE" &&
            e.message.startsWith(`cannot write ${path}: `) &&
            reason.test(e.message) &&
            e.message.match(/\[E_/g)?.length === 1,
        ),
    );
    assert.deepEqual(readFileSync(path), previous);
    assert.deepEqual(readdirSync(dir), ["latest.safetensors"]);
  });
}

test("a real full disk (64 KiB tmpfs): the previous checkpoint stays loadable and no temporary file is left", (t) => {
  const dir = join(root, "tmpfs");
  if (!fullDisk(t, dir)) return;
  const path = join(dir, "latest.safetensors");
  const small = arange(100);
  const big = arange(32_768); // 128 KiB of float32: more than the file system holds
  try {
    saveSafetensors(path, { w: small });
    const previous = readFileSync(path);
    assert.throws(
      () => saveSafetensors(path, { w: big }),
      (e: unknown) => e instanceof TasksrError && e.code === "E_WRITE" && /\(ENOSPC\)/.test(e.message),
    );
    assert.deepEqual(readFileSync(path), previous);
    assert.deepEqual(readdirSync(dir), ["latest.safetensors"]);
    const back = loadSafetensors(path).tensors.get("w")!;
    assert.ok(back.equal(small));
    back.dispose();
  } finally {
    small.dispose();
    big.dispose();
  }
});
