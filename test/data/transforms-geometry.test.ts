import assert from "node:assert/strict";
import { test } from "node:test";
import {
  centerCrop,
  compose,
  expand,
  hflip,
  iouCrop,
  photometricDistort,
  randomCrop,
  resize,
  ssdPreset,
  type Transform,
} from "../../src/data/transforms/index.js";
import { Rng } from "../../src/data/transforms/rng.js";
import type { BoxTarget, MaskTarget, Sample } from "../../src/data/types.js";

// A scene: grey background with coloured rectangles; box i (label i) and mask value i + 1 share colour i.
const GREY = [128, 128, 128];
const COLOURS = [
  [220, 30, 30],
  [30, 60, 220],
  [20, 200, 60],
];
const RECTS = [
  [5, 4, 17, 16],
  [22, 10, 37, 27],
  [9, 19, 16, 28],
];

function scene(kind: "boxes" | "mask", w = 40, h = 30): Sample {
  const data = new Uint8Array(w * h * 3);
  const mask = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let c = GREY;
      RECTS.forEach(([x1, y1, x2, y2], i) => {
        if (x >= x1! && x < x2! && y >= y1! && y < y2!) {
          c = COLOURS[i]!;
          mask[y * w + x] = i + 1;
        }
      });
      data.set(c, (y * w + x) * 3);
    }
  }
  const target: BoxTarget | MaskTarget =
    kind === "boxes"
      ? {
          kind: "boxes",
          boxes: Float32Array.from(RECTS.flat()),
          labels: Int32Array.from([0, 1, 2]),
          difficult: Uint8Array.from([0, 1, 0]),
          iscrowd: new Uint8Array(3),
        }
      : { kind: "mask", mask, width: w, height: h };
  return { id: "scene", image: { data, width: w, height: h, channels: 3 }, target };
}

const px = (s: Sample, x: number, y: number) =>
  Array.from(s.image.data.subarray((y * s.image.width + x) * 3, (y * s.image.width + x) * 3 + 3));
const near = (a: number[], b: readonly number[], tol = 2) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

/**
 * Every pixel whose centre lies inside a box by more than `margin` has the box's colour, and the box is tight:
 * some pixel just inside each edge has the colour too (so a shifted or mirrored box would fail).
 */
function checkBoxes(s: Sample, margin: number, what: string): number {
  const t = s.target as BoxTarget;
  assert.equal(t.boxes.length, t.labels.length * 4);
  assert.equal(t.difficult.length, t.labels.length);
  for (let i = 0; i < t.labels.length; i++) {
    const [x1, y1, x2, y2] = Array.from(t.boxes.subarray(i * 4, i * 4 + 4)) as [number, number, number, number];
    assert.ok(
      x1 >= 0 && y1 >= 0 && x2 <= s.image.width && y2 <= s.image.height && x2 > x1 && y2 > y1,
      `${what}: box ${i} inside image`,
    );
    const colour = COLOURS[t.labels[i]!]!;
    assert.equal(t.difficult[i], t.labels[i] === 1 ? 1 : 0, `${what}: difficult flag follows its box`);
    let inside = 0;
    for (let y = 0; y < s.image.height; y++) {
      for (let x = 0; x < s.image.width; x++) {
        const cx = x + 0.5;
        const cy = y + 0.5;
        if (cx > x1 + margin && cx < x2 - margin && cy > y1 + margin && cy < y2 - margin) {
          inside++;
          assert.ok(
            near(px(s, x, y), colour),
            `${what}: pixel (${x},${y}) in box ${i} is ${px(s, x, y)}, want ${colour}`,
          );
        }
      }
    }
    // Tightness: the pixel just beyond each edge (by more than the margin) is not the box colour, so a box
    // shifted, mirrored or shrunk by one pixel fails.
    const midX = Math.floor((x1 + x2) / 2);
    const midY = Math.floor((y1 + y2) / 2);
    const outside: [number, number][] = [
      [Math.ceil(x1 - margin - 0.5) - 1, midY],
      [Math.floor(x2 + margin - 0.5) + 1, midY],
      [midX, Math.ceil(y1 - margin - 0.5) - 1],
      [midX, Math.floor(y2 + margin - 0.5) + 1],
    ];
    for (const [x, y] of outside) {
      if (x < 0 || y < 0 || x >= s.image.width || y >= s.image.height) continue;
      assert.ok(!near(px(s, x, y), colour, 0), `${what}: box ${i} is not tight at (${x},${y})`);
    }
    if (x2 - x1 > 2 * margin + 2 && y2 - y1 > 2 * margin + 2)
      assert.ok(inside > 0, `${what}: box ${i} interior checked`);
  }
  return t.labels.length;
}

/** Mask pixels whose neighbourhood (radius r) has one label show that label's colour in the image. */
function checkMask(s: Sample, r: number, what: string): void {
  const t = s.target as MaskTarget;
  assert.equal(t.width, s.image.width);
  assert.equal(t.height, s.image.height);
  let checked = 0;
  for (let y = r; y < t.height - r; y++) {
    for (let x = r; x < t.width - r; x++) {
      const v = t.mask[y * t.width + x]!;
      let uniform = true;
      for (let dy = -r; dy <= r && uniform; dy++)
        for (let dx = -r; dx <= r && uniform; dx++) uniform = t.mask[(y + dy) * t.width + x + dx] === v;
      if (!uniform || v === 255) continue;
      checked++;
      const colour = v === 0 ? GREY : COLOURS[v - 1]!;
      assert.ok(near(px(s, x, y), colour), `${what}: mask ${v} at (${x},${y}) but pixel ${px(s, x, y)}`);
    }
  }
  assert.ok(checked > 20, `${what}: enough mask pixels checked (${checked})`);
}

const geometric: [string, Transform, number][] = [
  ["resize short side (shrink)", resize(20), 2],
  ["resize short side (enlarge)", resize(45), 3],
  ["resize exact (anisotropic)", resize({ width: 23, height: 41 }), 3],
  ["random crop", randomCrop(24), 0],
  ["random crop with padding", randomCrop({ width: 48, height: 36 }, { padIfSmaller: true }), 0],
  ["centre crop", centerCrop(21), 0],
  ["centre crop larger than the image", centerCrop(45), 0],
  ["hflip", hflip(1), 0],
  ["expand", expand({ p: 1 }), 0],
  ["iou crop", iouCrop(), 0],
  ["ssd geometry", compose([expand(), iouCrop(), hflip(), resize({ width: 33, height: 33 })]), 5],
];

for (const [name, t, margin] of geometric) {
  test(`${name}: boxes and masks stay aligned with the pixels`, () => {
    let boxes = 0;
    for (let seed = 0; seed < 25; seed++) {
      boxes += checkBoxes(t(scene("boxes"), new Rng(seed)), margin, `${name} seed ${seed}`);
      if (name.startsWith("iou") || name.startsWith("ssd")) continue;
      checkMask(t(scene("mask"), new Rng(seed)), Math.max(margin, 1), `${name} seed ${seed}`);
    }
    assert.ok(boxes > 0, "some boxes survived");
  });
}

test("hflip mirrors boxes as x1' = W - x2, x2' = W - x1 and leaves the input untouched", () => {
  const s = scene("boxes");
  const before = s.image.data.slice();
  const out = hflip(1)(s, new Rng(0));
  assert.deepEqual(Array.from((out.target as BoxTarget).boxes.subarray(0, 4)), [40 - 17, 4, 40 - 5, 16]);
  assert.deepEqual(s.image.data, before);
  assert.deepEqual(Array.from((s.target as BoxTarget).boxes.subarray(0, 4)), RECTS[0]);
  assert.equal(hflip(0)(s, new Rng(0)), s);
});

test("padded random crop pads bottom/right with 0 (image) and 255 (mask)", () => {
  const s = scene("mask", 20, 10);
  const out = randomCrop(16, { padIfSmaller: true })(s, new Rng(5));
  const m = out.target as MaskTarget;
  assert.equal(out.image.width, 16);
  assert.equal(out.image.height, 16);
  for (let y = 10; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      assert.equal(m.mask[y * 16 + x], 255);
      assert.deepEqual(px(out, x, y), [0, 0, 0]);
    }
  }
  assert.throws(() => randomCrop(16)(s, new Rng(0)), /larger than the image/);
});

test("centre crop offsets follow torchvision (round half to even; symmetric padding)", () => {
  const s = scene("boxes");
  const out = centerCrop({ width: 37, height: 30 })(s, new Rng(0));
  // (40 - 37) / 2 = 1.5 rounds to 2: the first box [5, 4, 17, 16] moves to x 3..15.
  assert.deepEqual(Array.from((out.target as BoxTarget).boxes.subarray(0, 4)), [3, 4, 15, 16]);
  const big = centerCrop({ width: 43, height: 30 })(s, new Rng(0));
  // pad 3 = 1 left + 2 right.
  assert.deepEqual(Array.from((big.target as BoxTarget).boxes.subarray(0, 4)), [6, 4, 18, 16]);
});

test("iou crop keeps only boxes whose centre is inside and honours the minimum IoU", () => {
  const t = iouCrop({ minIous: [0.7], trials: 200 });
  let cropped = 0;
  for (let seed = 0; seed < 40; seed++) {
    const s = scene("boxes");
    const out = t(s, new Rng(seed));
    if (out === s) continue;
    cropped++;
    const b = (out.target as BoxTarget).boxes;
    // Some kept box covers >= 70% of the crop-union: with clipping it must be large relative to the crop.
    let best = 0;
    for (let i = 0; i < b.length / 4; i++) {
      const area = (b[i * 4 + 2]! - b[i * 4]!) * (b[i * 4 + 3]! - b[i * 4 + 1]!);
      best = Math.max(best, area / (out.image.width * out.image.height));
    }
    assert.ok(best >= 0.7 - 1e-6, `seed ${seed}: best box fills ${best} of the crop`);
  }
  assert.ok(cropped > 10, `crops accepted: ${cropped}`);
});

test("augmentation is deterministic per stream and differs across streams", () => {
  const t = ssdPreset("train", { size: 32 });
  const a = t(scene("boxes"), new Rng(9, 1, 3));
  const b = t(scene("boxes"), new Rng(9, 1, 3));
  assert.deepEqual(a.image.data, b.image.data);
  assert.deepEqual((a.target as BoxTarget).boxes, (b.target as BoxTarget).boxes);
  let differ = 0;
  for (let i = 0; i < 10; i++) {
    const c = t(scene("boxes"), new Rng(9, 1, 4 + i));
    if (Buffer.compare(Buffer.from(c.image.data), Buffer.from(a.image.data)) !== 0) differ++;
  }
  assert.ok(differ >= 8, `${differ}/10 other streams differ`);
});

test("photometric distortion keeps geometry and targets, keeps flat images flat, and changes colours", () => {
  const t = photometricDistort();
  let changed = 0;
  for (let seed = 0; seed < 20; seed++) {
    const s = scene("boxes");
    const out = t(s, new Rng(seed));
    assert.equal(out.target, s.target);
    assert.equal(out.image.width, 40);
    // Pixels equal in the input stay equal in the output (the distortion is per pixel and position-free).
    assert.deepEqual(px(out, 0, 0), px(out, 39, 29));
    assert.deepEqual(px(out, 6, 5), px(out, 16, 15));
    if (!near(px(out, 6, 5), COLOURS[0]!, 0)) changed++;
  }
  // Each of the five steps changes a saturated colour; all five are skipped with probability 1/32.
  assert.ok(changed >= 16, `${changed}/20 distortions changed the red box`);
});
