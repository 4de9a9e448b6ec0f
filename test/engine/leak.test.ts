import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Adam,
  F,
  manualSeed,
  memory,
  randn,
  scope,
  setNumThreads,
  type Tensor,
  zeros,
} from "../../src/engine/index.js";

const mib = (n: number): string => (n / 2 ** 20).toFixed(1);

const STEPS = 2000;
const WARMUP = 200;

/** He-style init done in place, so no intermediate handle outlives this call. */
const weight = (shape: number[]): Tensor =>
  randn(shape)
    .mul_(Math.sqrt(2 / (shape[1]! * shape[2]! * shape[3]!)))
    .requiresGrad_();

test("2,000 training steps of a conv net keep live tensors, native CPU bytes and RSS flat", (t) => {
  // This measures memory, not speed: one intra-op thread keeps the 2,000 small steps fast even on a loaded machine,
  // where spinning OpenMP workers slow each step down by an order of magnitude. The file runs in its own process.
  setNumThreads(1);
  manualSeed(0);
  const startLive = memory().liveTensors;
  const params = [
    weight([8, 3, 3, 3]),
    zeros([8]).requiresGrad_(),
    weight([8, 8, 3, 3]),
    zeros([8]).requiresGrad_(),
    weight([3, 8, 3, 3]),
    zeros([3]).requiresGrad_(),
  ];
  const [w1, b1, w2, b2, w3, b3] = params as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
  const opt = new Adam(params, { lr: 1e-3 });

  const step = (): number =>
    scope(() => {
      opt.zeroGrad();
      const x = randn([4, 3, 16, 16]);
      // Target: a fixed function of the input, so the loss has something to learn.
      const target = x.flip(3).mul(0.5);
      const h1 = F.relu(F.conv2d(x, w1, b1, { padding: 1 }));
      const h2 = F.relu(F.conv2d(h1, w2, b2, { padding: 1 }));
      const loss = F.l1Loss(F.conv2d(h2, w3, b3, { padding: 1 }), target);
      loss.backward();
      opt.step();
      return loss.item();
    });

  // The first step creates Adam's moment buffers; from then on every step must end in the same state.
  const firstLoss = step();
  const live = memory().liveTensors;
  const bytes = memory().cpuBytes;
  assert.equal(live, startLive + params.length * 3, "parameters plus two Adam buffers each");
  let rssWarm = 0;
  let rssMax = 0;
  let lastLoss = firstLoss;
  for (let i = 1; i < STEPS; i++) {
    lastLoss = step();
    const m = memory();
    if (m.liveTensors !== live) assert.fail(`step ${i}: ${m.liveTensors} live tensors, expected ${live}`);
    if (m.cpuBytes !== bytes) assert.fail(`step ${i}: native CPU bytes ${m.cpuBytes}, expected ${bytes}`);
    if (i === WARMUP) rssWarm = process.memoryUsage().rss;
    if (i > WARMUP) rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }
  const rssEnd = process.memoryUsage().rss;
  t.diagnostic(
    `live tensors ${live} (start ${startLive}), native CPU bytes ${bytes}, RSS after step ${WARMUP} ${mib(rssWarm)} MiB, ` +
      `max ${mib(rssMax)} MiB, end ${mib(rssEnd)} MiB, loss ${firstLoss.toFixed(4)} -> ${lastLoss.toFixed(4)}`,
  );
  assert.ok(lastLoss < firstLoss, "the net trains");
  assert.ok(rssMax <= rssWarm * 1.05, `RSS grew from ${mib(rssWarm)} MiB to ${mib(rssMax)} MiB after warm-up`);
  assert.ok(rssEnd >= rssWarm * 0.95, `RSS dropped from ${mib(rssWarm)} MiB to ${mib(rssEnd)} MiB after warm-up`);

  opt.dispose();
  for (const p of params) p.dispose();
  assert.equal(memory().liveTensors, startLive);
});

test("disposed handles free their native bookkeeping without waiting for the event loop", () => {
  // A handle that only dropped its tensor on dispose would leave a box and a pending GC finalizer behind until the
  // event loop turns (about 130 bytes each): 250,000 handles in one synchronous loop would then add over 30 MiB.
  const churn = (rounds: number) => {
    for (let i = 0; i < rounds; i++) scope(() => Array.from({ length: 50 }, () => zeros([1])).length);
  };
  const startLive = memory().liveTensors;
  churn(400);
  const before = process.memoryUsage().rss;
  churn(5000);
  const grown = process.memoryUsage().rss - before;
  assert.equal(memory().liveTensors, startLive);
  assert.ok(grown < 12 * 2 ** 20, `RSS grew by ${mib(grown)} MiB over 250,000 disposed handles`);
});
