// The CPU allocator's pool for blocks of 256 KiB and up (native/src/cpu_allocator.cc): reuse of freed memory,
// splitting and coalescing, mappings of their own for very large blocks, emptyCache, and a flat RSS in a repeated
// training step. Effects are observed where they matter, in the process's resident memory. The file runs in its
// own process, so nothing else allocates from the pool meanwhile.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  empty,
  emptyCache,
  F,
  manualSeed,
  memory,
  randn,
  SGD,
  scope,
  type Tensor,
  zeros,
} from "../../src/engine/index.js";

const MiB = 2 ** 20;
const rss = (): number => process.memoryUsage().rss;
const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;
/** A float32 tensor of `m` MiB, written (zeros touches every page). */
const block = (m: number): Tensor => zeros([(m * MiB) / 4]);

test("a freed block's memory serves the next tensor, and emptyCache returns its pages", () => {
  emptyCache();
  const r0 = rss();
  const t = block(64).fill_(7);
  assert.ok(rss() - r0 >= 60 * MiB, `RSS grew by ${mib(rss() - r0)} for 64 MiB`);
  t.dispose();
  const r1 = rss();
  const u = block(64);
  assert.ok(rss() - r1 < 4 * MiB, `RSS grew by ${mib(rss() - r1)} for a second 64 MiB after freeing the first`);
  // The reused memory still held the 7s; zeros() must have written over them.
  assert.equal(
    scope(() => u.abs().sum().item()),
    0,
  );
  u.dispose();
  const m = memory();
  assert.equal(m.cpuPoolFreeBytes, m.cpuPoolMappedBytes, "no tensor left in the pool");
  assert.ok(emptyCache() >= 64 * MiB);
  assert.ok(r1 - rss() >= 56 * MiB, `emptyCache returned ${mib(r1 - rss())} of 64 MiB`);
});

test("small tensors stay with malloc", () => {
  const before = memory();
  const t = zeros([1000]);
  assert.equal(memory().cpuPoolFreeBytes, before.cpuPoolFreeBytes);
  assert.ok(memory().cpuBytes >= before.cpuBytes + 4000);
  t.dispose();
});

test("a split block leaves its neighbours' data intact, and freed neighbours coalesce", () => {
  emptyCache();
  const [a, b, c] = [block(20), block(20), block(20)];
  a.fill_(1);
  c.fill_(3);
  b.fill_(2).dispose();
  // Best fit puts 8 MiB into b's freed 20, between a and c.
  const d = block(8).fill_(4);
  const n = (20 * MiB) / 4;
  assert.deepEqual(
    scope(() => [a.sum().item(), c.sum().item(), d.sum().item()]),
    [n, 3 * n, 8 * MiB],
  );
  for (const t of [a, c, d]) t.dispose();
  // The 60 MiB just written are free again; only as one merged block can they hold the next 60 MiB, else that
  // request goes to untouched pages and RSS grows by 60 MiB.
  const r0 = rss();
  const e = block(60);
  assert.ok(rss() - r0 < 8 * MiB, `RSS grew by ${mib(rss() - r0)}: the freed blocks did not merge`);
  e.dispose();
  emptyCache();
});

test("a block larger than the 1 GiB arena gets a mapping of its own, resident only where touched", () => {
  const before = memory().cpuPoolMappedBytes;
  const r0 = rss();
  const t = empty([(1100 * MiB) / 4]);
  const mapped = memory().cpuPoolMappedBytes - before;
  assert.ok(mapped >= 1100 * MiB && mapped < 1104 * MiB, `mapped ${mib(mapped)} for 1100 MiB`);
  assert.ok(rss() - r0 < 8 * MiB, "an unwritten tensor costs no resident memory");
  assert.equal(
    scope(() => t.narrow(0, 0, 1024).fill_(1).sum().item()),
    1024,
  );
  t.dispose();
  emptyCache();
});

test("a repeated training step keeps RSS flat after the first step", () => {
  manualSeed(0);
  // [8, 16, 64, 64] activations: 2 MiB each, so every activation and gradient comes from the pool.
  const w1 = randn([16, 3, 3, 3]).mul_(0.2).requiresGrad_();
  const w2 = randn([16, 16, 3, 3]).mul_(0.1).requiresGrad_();
  const opt = new SGD([w1, w2], { lr: 0.01, momentum: 0.9 });
  const x = randn([8, 3, 64, 64]);
  const step = () =>
    scope(() => {
      opt.zeroGrad();
      const h = F.relu(F.conv2d(x, w1, undefined, { padding: 1 }));
      F.conv2d(h, w2, undefined, { padding: 1 }).square().mean().backward();
      opt.step();
    });
  step();
  step();
  const r0 = rss();
  const free0 = memory().cpuPoolFreeBytes;
  for (let i = 0; i < 30; i++) step();
  assert.equal(memory().cpuPoolFreeBytes, free0, "the pool ends every step in the same state");
  assert.ok(rss() - r0 < 4 * MiB, `RSS grew by ${mib(rss() - r0)} over 30 steps`);
  opt.dispose();
  for (const t of [w1, w2, x]) t.dispose();
});
