import assert from "node:assert/strict";
import { test } from "node:test";
import {
  collateClassification,
  collateDetection,
  collateFor,
  collateSegmentation,
  cropBack,
  disposeBatch,
} from "../../src/data/loader/collate.js";
import type { BoxTarget, Sample } from "../../src/data/types.js";
import { memory, scope } from "../../src/engine/index.js";

/** An image whose byte at (y, x, c) is (seed * 31 + y * 17 + x * 5 + c * 71) % 256. */
function image(w: number, h: number, seed: number, channels: 1 | 3 = 3) {
  const data = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < channels; c++) data[(y * w + x) * channels + c] = (seed * 31 + y * 17 + x * 5 + c * 71) % 256;
  return { data, width: w, height: h, channels };
}
const byte = (s: Sample, x: number, y: number, c: number) =>
  s.image.data[(y * s.image.width + x) * s.image.channels + (s.image.channels === 1 ? 0 : c)]!;

function boxSample(id: string, w: number, h: number, k: number): Sample<BoxTarget> {
  return {
    id,
    image: image(w, h, id.length),
    target: {
      kind: "boxes",
      boxes: Float32Array.from({ length: k * 4 }, (_, i) => i + 0.5),
      labels: Int32Array.from({ length: k }, (_, i) => i + 1),
      difficult: new Uint8Array(k),
      iscrowd: new Uint8Array(k),
    },
  };
}

test("classification: [N, 3, H, W] float32 in [0, 1] matching the bytes, labels int64; grey expands to RGB", () => {
  const before = memory().liveTensors;
  const samples: Sample[] = [0, 1, 2].map((i) => ({
    id: `s${i}`,
    image: image(5, 4, i, i === 2 ? 1 : 3),
    target: { kind: "class", label: i * 3 },
  }));
  const b = collateClassification(samples);
  assert.deepEqual(b.hr.shape, [3, 3, 4, 5]);
  assert.equal(b.hr.dtype, "float32");
  assert.equal(b.labels.dtype, "int64");
  assert.deepEqual(b.labels.toArray(), [0, 3, 6]);
  assert.deepEqual(b.ids, ["s0", "s1", "s2"]);
  const v = b.hr.data<"float32">();
  for (let n = 0; n < 3; n++)
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 5; x++)
          assert.equal(v[((n * 3 + c) * 4 + y) * 5 + x], Math.fround(byte(samples[n]!, x, y, c) / 255));
  disposeBatch(b);
  assert.equal(memory().liveTensors, before);
});

test("collate output survives the caller's scope and mismatched sizes are reported", () => {
  const before = memory().liveTensors;
  const s = (w: number): Sample => ({ id: `w${w}`, image: image(w, 4, 1), target: { kind: "class", label: 0 } });
  const b = scope(() => collateClassification([s(5), s(5)]));
  assert.equal(b.hr.isDisposed, false);
  disposeBatch(b);
  assert.throws(() => collateClassification([s(5), s(6)]), /share one size.*w6 is 6x4/);
  assert.throws(() => collateSegmentation([s(5)]), /"class" target, need "mask"/);
  assert.equal(memory().liveTensors, before);
});

test("segmentation: masks [N, H, W] int64 with 255 kept", () => {
  const before = memory().liveTensors;
  const mask = Uint8Array.from({ length: 12 }, (_, i) => (i % 5 === 0 ? 255 : i % 4));
  const b = collateSegmentation([
    { id: "a", image: image(4, 3, 0), target: { kind: "mask", mask, width: 4, height: 3 } },
  ]);
  assert.deepEqual(b.masks.shape, [1, 3, 4]);
  assert.equal(b.masks.dtype, "int64");
  assert.deepEqual(b.masks.toArray(), Array.from(mask));
  disposeBatch(b);
  assert.equal(memory().liveTensors, before);
});

test("detection: padded to multiples of the scale; reflect when both pads < sides, else replicate; crop back", () => {
  const before = memory().liveTensors;
  // [h, w]: pads to 12 x 16 at scale 4 -> (2, 3) reflect, (5, 7) reflect, (0, 10 >= 6) replicate.
  const samples = [boxSample("a", 13, 10, 2), boxSample("bb", 9, 7, 0), boxSample("ccc", 6, 12, 3)];
  const b = collateDetection(samples, { scale: 4 });
  assert.deepEqual(b.hr.shape, [3, 3, 12, 16]);
  assert.deepEqual(b.sizes, [
    [10, 13],
    [7, 9],
    [12, 6],
  ]);
  const v = b.hr.data<"float32">();
  const at = (n: number, c: number, y: number, x: number) => v[((n * 3 + c) * 12 + y) * 16 + x]!;
  const reflect = (i: number, size: number) => (i < size ? i : 2 * (size - 1) - i);
  const replicate = (i: number, size: number) => Math.min(i, size - 1);
  samples.forEach((s, n) => {
    const { width: w, height: h } = s.image;
    const map = n < 2 ? reflect : replicate;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 12; y++)
        for (let x = 0; x < 16; x++) {
          const want = Math.fround(byte(s, map(x, w), map(y, h), c) / 255);
          assert.equal(at(n, c, y, x), want, `image ${n} (${y}, ${x}) c${c}`);
        }
  });
  assert.deepEqual(b.targets[0]!.boxes.shape, [2, 4]);
  assert.deepEqual(b.targets[0]!.boxes.toArray(), [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]);
  assert.equal(b.targets[0]!.labels.dtype, "int64");
  assert.deepEqual(b.targets[2]!.labels.toArray(), [1, 2, 3]);
  assert.deepEqual(b.targets[1]!.boxes.shape, [0, 4]);
  const crops = cropBack(b.hr, b.sizes);
  crops.forEach((t, n) => {
    assert.deepEqual(t.shape, [3, ...b.sizes[n]!]);
    const s = samples[n]!;
    const d = t.contiguous();
    const arr = d.data<"float32">();
    d.dispose();
    assert.equal(arr[0], Math.fround(byte(s, 0, 0, 0) / 255));
    const [h, w] = b.sizes[n]!;
    assert.equal(arr[2 * h * w + (h - 1) * w + (w - 1)], Math.fround(byte(s, w - 1, h - 1, 2) / 255));
    t.dispose();
  });
  disposeBatch(b);
  assert.equal(memory().liveTensors, before);
});

test("detection padding sizes are multiples of the scale for many shapes; scale 1 pads to the batch max", () => {
  const before = memory().liveTensors;
  for (const scale of [1, 2, 3, 4, 8]) {
    for (let k = 0; k < 5; k++) {
      const dims = [0, 1, 2].map((i) => [9 + ((k * 7 + i * 5) % 23), 8 + ((k * 11 + i * 3) % 19)] as const);
      const b = collateFor("detection", { scale })(dims.map(([w, h], i) => boxSample(`i${i}`, w, h, 1)));
      const [, , hp, wp] = b.hr.shape as [number, number, number, number];
      assert.equal(hp % scale, 0);
      assert.equal(wp % scale, 0);
      const maxH = Math.max(...dims.map((d) => d[1]));
      const maxW = Math.max(...dims.map((d) => d[0]));
      assert.ok(hp >= maxH && hp < maxH + scale && wp >= maxW && wp < maxW + scale);
      disposeBatch(b);
    }
  }
  assert.equal(memory().liveTensors, before);
});
