// Tiled SR inference: crop-of-overlap stitching equals untiled inference when the overlap covers the receptive field.
import assert from "node:assert/strict";
import { test } from "node:test";
import { manualSeed, memory, rand, scope } from "../../src/engine/index.js";
import { tileRegions, upscaleTiled } from "../../src/infer/tile.js";
import { buildArch } from "../../src/models/index.js";
import type { SrNetwork } from "../../src/models/types.js";

/** edsr-tiny (4 blocks x 32): receptive radius 1 + 8 + 1 LR pixels before the upsampler, under 12 in all. */
function tinyEdsr(scale: number): SrNetwork {
  manualSeed(3);
  return buildArch("edsr-tiny", { scale }, "sr") as unknown as SrNetwork;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

test("tileRegions: cores partition an odd-sized image; contexts are clipped at the border", () => {
  const regions = tileRegions(17, 23, 7, 3);
  assert.equal(regions.length, 3 * 4);
  const hit = new Uint8Array(17 * 23);
  for (const r of regions) {
    for (let y = r.y0; y < r.y1; y++) for (let x = r.x0; x < r.x1; x++) hit[y * 23 + x]! += 1;
    assert.equal(r.cy0, Math.max(0, r.y0 - 3));
    assert.equal(r.cx1, Math.min(23, r.x1 + 3));
  }
  assert.ok(
    hit.every((v) => v === 1),
    "every pixel belongs to exactly one core",
  );
  assert.deepEqual(tileRegions(17, 23, 0, 3), [{ y0: 0, y1: 17, x0: 0, x1: 23, cy0: 0, cy1: 17, cx0: 0, cx1: 23 }]);
});

for (const scale of [2, 4]) {
  test(`tiled == untiled within 1e-5: edsr-tiny x${scale}, LR [1,3,17,23], tile 7, overlap 12`, async () => {
    const net = tinyEdsr(scale);
    const lr = scope(() => rand([1, 3, 17, 23]));
    const before = memory().liveTensors;
    const whole = await upscaleTiled(net, lr);
    let calls = 0;
    const tiled = await upscaleTiled(net, lr, { tile: 7, overlap: 12, onProgress: () => calls++ });
    assert.equal(calls, 12);
    assert.deepEqual(tiled.shape, [1, 3, 17 * scale, 23 * scale]);
    const d = maxAbsDiff(whole.data<"float32">(), tiled.data<"float32">());
    assert.ok(d <= 1e-5, `max |tiled - untiled| = ${d}`);
    // With no overlap the tile borders see zero padding instead of their neighbours: the stitching is visible.
    const seams = await upscaleTiled(net, lr, { tile: 7, overlap: 0 });
    assert.ok(maxAbsDiff(whole.data<"float32">(), seams.data<"float32">()) > 1e-3, "overlap 0 must differ");
    for (const t of [whole, tiled, seams]) t.dispose();
    assert.equal(memory().liveTensors, before, "no tensor handle leaks");
    assert.equal(net.training, true, "the network's mode is restored");
    lr.dispose();
    net.dispose();
  });
}

test("a tile covering the image is exactly untiled inference", async () => {
  const net = tinyEdsr(4);
  const lr = scope(() => rand([1, 3, 9, 13]));
  const whole = await upscaleTiled(net, lr);
  const one = await upscaleTiled(net, lr, { tile: 64, overlap: 5 });
  assert.deepEqual(one.data<"float32">(), whole.data<"float32">());
  for (const t of [lr, whole, one]) t.dispose();
  net.dispose();
});

test("abort stops before the next tile; bad arguments are clear errors", async () => {
  const net = tinyEdsr(2);
  const lr = scope(() => rand([1, 3, 10, 10]));
  const before = memory().liveTensors;
  const ac = new AbortController();
  const run = upscaleTiled(net, lr, {
    tile: 4,
    overlap: 2,
    signal: ac.signal,
    onProgress: (done) => {
      if (done === 2) ac.abort();
    },
  });
  await assert.rejects(run, { name: "AbortError" });
  assert.equal(memory().liveTensors, before, "the partial output is freed");
  await assert.rejects(upscaleTiled(net, lr, { tile: -1 }), /tile must be a non-negative integer/);
  await assert.rejects(upscaleTiled(net, lr, { tile: 4, overlap: 1.5 }), /overlap must be a non-negative integer/);
  const grey = scope(() => rand([1, 1, 10, 10]));
  await assert.rejects(upscaleTiled(net, grey), /expected an LR image \[1, 3, h, w\], got \[1,1,10,10\]/);
  for (const t of [lr, grey]) t.dispose();
  net.dispose();
});
