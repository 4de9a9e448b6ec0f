// 8-bit streaming inference (upscaleImage) equals the float path converted at the end, and the memory estimate that
// lets `tasksr upscale` refuse an image before it starts: linear in the tile's area, with a message naming the budget.
import assert from "node:assert/strict";
import { test } from "node:test";
import { imagesToTensor, tensorToImages } from "../../src/data/degrade/image_tensor.js";
import { manualSeed, memory } from "../../src/engine/index.js";
import { checkMemory, measureForward, upscaleMemory } from "../../src/infer/budget.js";
import { upscaleImage, upscaleTiled } from "../../src/infer/tile.js";
import { buildArch } from "../../src/models/index.js";
import type { SrNetwork } from "../../src/models/types.js";
import { pattern } from "../support/data_trees.js";

function tinyEdsr(scale: number): SrNetwork {
  manualSeed(5);
  return buildArch("edsr-tiny", { scale }, "sr") as unknown as SrNetwork;
}

for (const [scale, tile] of [
  [2, 7],
  [4, 0],
  [4, 9],
] as const) {
  test(`upscaleImage == tensorToImages(upscaleTiled) bit for bit: edsr-tiny x${scale}, 23 x 17, tile ${tile}`, async () => {
    const net = tinyEdsr(scale);
    const img = pattern(23, 17, 3);
    const before = memory().liveTensors;
    const lr = imagesToTensor([img]);
    const float = await upscaleTiled(net, lr, { tile, overlap: 12 });
    const [expected] = tensorToImages(float);
    for (const t of [lr, float]) t.dispose();
    let calls = 0;
    const out = await upscaleImage(net, img, { tile, overlap: 12, onProgress: () => calls++ });
    assert.deepEqual([out.width, out.height, out.channels], [23 * scale, 17 * scale, 3]);
    assert.deepEqual(out.data, expected!.data);
    assert.equal(calls, tile === 0 ? 1 : Math.ceil(23 / tile) * Math.ceil(17 / tile));
    assert.equal(memory().liveTensors, before, "no tensor handle leaks");
    assert.equal(net.training, true, "the network's mode is restored");
    net.dispose();
  });
}

test("upscaleImage stops before the next tile on abort, leaking nothing", async () => {
  const net = tinyEdsr(2);
  const before = memory().liveTensors;
  const ac = new AbortController();
  const onProgress = (done: number) => done === 2 && ac.abort();
  await assert.rejects(upscaleImage(net, pattern(12, 12), { tile: 4, signal: ac.signal, onProgress }), {
    name: "AbortError",
  });
  assert.equal(memory().liveTensors, before);
  net.dispose();
});

test("the forward memory estimate is linear in the tile's area; the budget check names budget, tile and --max-memory", () => {
  const net = tinyEdsr(4);
  const cost = measureForward(net);
  // edsr-tiny x4 holds at least the 128-channel float map at twice the LR resolution: 128 · 4 · 4 bytes per LR pixel.
  assert.ok(cost.perPixel >= 2048 && cost.perPixel < 20_000, `bytes per LR pixel ${cost.perPixel}`);
  const held = 1e8;
  const m = (tile: number) => upscaleMemory(cost, held, [2000, 3000], 4, { tile, overlap: 40 });
  assert.equal(m(0).images, 2000 * 3000 * 3 * 17);
  assert.ok(Math.abs(m(0).tensors - (cost.fixed + cost.perPixel * 6e6)) < 1);
  assert.ok(Math.abs(m(0).forward - 1.6 * m(0).tensors) < 1, "resident memory of the pool counted");
  assert.ok(Math.abs(m(512).tensors - (cost.fixed + cost.perPixel * 592 * 592)) < 1, "largest tile with context");
  const budgetBytes = m(256).total + 1;
  const o = { overlap: 40, budgetBytes, where: "big.png" };
  checkMemory(cost, held, [2000, 3000], 4, { ...o, tile: 256 });
  assert.throws(
    () => checkMemory(cost, held, [2000, 3000], 4, { ...o, tile: 0 }),
    (e: unknown) =>
      e instanceof Error &&
      /^big\.png \(3000x2000 -> 12000x8000\) needs about [\d.]+ GB with --tile 0 \([\d.]+ GB for the network on the whole image, [\d.]+ GB for the 8-bit images, 0\.10 GB held already\), over the memory budget of [\d.]+ GB; use --tile 187 \(about [\d.]+ GB\), or raise the budget with --max-memory <GB>/.test(
        e.message,
      ),
  );
  assert.throws(
    () => checkMemory(cost, held, [2000, 3000], 4, { ...o, tile: 0, budgetBytes: held }),
    /no tile fits: the process and the 8-bit images alone take/,
  );
  net.dispose();
});
