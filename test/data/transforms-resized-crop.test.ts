import assert from "node:assert/strict";
import { test } from "node:test";
import { compose, hflip, Rng, randomCrop, resize } from "../../src/data/transforms/index.js";
import { resizedCropFlip } from "../../src/data/transforms/resized_crop.js";
import type { Sample, Target } from "../../src/data/types.js";

function sample(w: number, h: number, channels: 1 | 3, seed: number): Sample<Target> {
  let v = seed;
  const next = () => {
    v = (v * 1103515245 + 12345) >>> 0;
    return v >>> 24;
  };
  const data = Uint8Array.from({ length: w * h * channels }, next);
  const mask = Uint8Array.from({ length: w * h }, () => next() % 22);
  return {
    id: `s${seed}`,
    image: { data, width: w, height: h, channels },
    target: { kind: "mask", mask, width: w, height: h },
  };
}

test("resizedCropFlip equals resize, randomCrop and hflip in turn, pixels, mask and draws, for many sizes", () => {
  const cases: [number, number, number, number, boolean][] = [
    // [w, h, resize, crop, padIfSmaller]: shrink, enlarge, a kept side, padding at the right/bottom, odd sizes.
    [64, 48, 40, 32, false],
    [48, 64, 40, 36, true],
    [30, 20, 52, 48, false],
    [40, 30, 30, 24, false],
    [33, 47, 20, 24, true],
    [17, 9, 13, 16, true],
    [50, 50, 50, 50, false],
  ];
  const outcomes = new Set<boolean>();
  for (const [w, h, size, crop, padIfSmaller] of cases) {
    const fused = resizedCropFlip({ resize: size, crop, padIfSmaller, hflip: 0.5 });
    const steps = compose([resize(size), randomCrop(crop, { padIfSmaller }), hflip(0.5)]);
    const unflipped = compose([resize(size), randomCrop(crop, { padIfSmaller })]);
    for (const channels of [3, 1] as const) {
      for (let i = 0; i < 6; i++) {
        const s = sample(w, h, channels, i + w * 7 + channels);
        const a = fused(s, new Rng(3, 1, i));
        const b = steps(s, new Rng(3, 1, i));
        const what = `${w}x${h} -> ${size} / ${crop}, c${channels}, sample ${i}`;
        assert.deepEqual(a.image, b.image, what);
        assert.deepEqual(a.target, b.target, what);
        // The stream is left where the steps leave it.
        const ra = new Rng(3, 1, i);
        const rb = new Rng(3, 1, i);
        fused(s, ra);
        steps(s, rb);
        assert.equal(ra.int(0, 1 << 30), rb.int(0, 1 << 30));
        outcomes.add(Buffer.from(a.image.data).equals(unflipped(s, new Rng(3, 1, i)).image.data));
      }
    }
  }
  assert.equal(outcomes.size, 2, "flipped and unflipped crops were both checked");
});

test("resizedCropFlip keeps the steps' errors", () => {
  const t = resizedCropFlip({ resize: 20, crop: 24, hflip: 0.5 });
  assert.throws(() => t(sample(30, 20, 3, 1), new Rng(0, 0, 0)), /crop 24x24 is larger than the image 30x20/);
  assert.throws(() => resizedCropFlip({ resize: 0, crop: 24, hflip: 0.5 }), /resize size must be a positive integer/);
});
