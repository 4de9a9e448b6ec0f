// A file of its own: the test needs the pool as a fresh process leaves it (no arena mapped yet).
import assert from "node:assert/strict";
import { test } from "node:test";
import { memory, scope, type Tensor, zeros } from "../../src/engine/index.js";

const MiB = 2 ** 20;
const rss = (): number => process.memoryUsage().rss;
const block = (m: number): Tensor => zeros([(m * MiB) / 4]); // written: every page touched

test("once everything is freed, whole free arenas are reused oldest first, so a repeated step touches the same pages", () => {
  const arenas0 = memory().cpuPoolMappedBytes;
  scope(() => {
    block(900); // the first arena, 124 MiB left
    block(300); // does not fit there: a second arena, 300 of its pages touched
  });
  assert.ok(memory().cpuPoolMappedBytes - arenas0 >= 2 * 1024 * MiB, "the two blocks took two arenas");
  // Both arenas are now one free GiB each. The next 900 MiB must go where 900 MiB were touched (the older arena),
  // not to the newer one, which mmap placed at the lower address and where only 300 MiB are resident.
  const r0 = rss();
  scope(() => block(900));
  assert.ok(rss() - r0 < 32 * MiB, `RSS grew by ${((rss() - r0) / MiB).toFixed(0)} MiB for a repeated 900 MiB block`);
});
