import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gaussianBlur, gaussianKernel } from "../../src/data/degrade/blur.js";
import { imagesToTensor, tensorToImages } from "../../src/data/degrade/image_tensor.js";
import { jpegTensor } from "../../src/data/degrade/jpeg.js";
import { matlabBicubicImage } from "../../src/data/degrade/matlab_bicubic.js";
import { addGaussianNoise } from "../../src/data/degrade/noise.js";
import { PairedImages } from "../../src/data/degrade/paired.js";
import { Degradation } from "../../src/data/degrade/pipeline.js";
import { torchBicubicDown } from "../../src/data/degrade/torch_bicubic.js";
import { Generator, memory, scope, type Tensor, tensor } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { pattern } from "../support/data_trees.js";
import { FIXTURES, SHARED_DATA } from "../support/paths.js";

const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"));
const levels = (x: Tensor) => scope(() => x.mul(255).round().toArray());
const maxAbs = (a: Tensor, b: Tensor) => scope(() => a.sub(b).abs().max().item());

/** A smooth-ish test image [1, 3, 48, 40] with values on 8-bit levels. */
const hrImage = () => imagesToTensor([pattern(40, 48, 5)]);

test("gaussian blur matches torchvision's gaussian_blur (reflect borders) within float rounding", () => {
  const before = memory().liveTensors;
  const ref = JSON.parse(readFileSync(join(FIXTURES, "data", "gaussian_blur.json"), "utf8")) as {
    cases: { shape: number[]; size: number; sigma: number; hrU8: string; out: string }[];
  };
  for (const c of ref.cases) {
    const err = scope(() => {
      const x = tensor(bytes(c.hrU8), { shape: c.shape }).float().div(255);
      const o = bytes(c.out);
      const want = tensor(new Float32Array(o.buffer, o.byteOffset, o.length / 4), { shape: c.shape });
      return maxAbs(gaussianBlur(x, c.sigma, c.size), want);
    });
    assert.ok(err < 1e-6, `[${c.shape}] k=${c.size} sigma=${c.sigma}: max error ${err}`);
  }
  const k = gaussianKernel(5, 1);
  assert.ok(Math.abs(k.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.equal(k[0], k[24]);
  assert.throws(() => gaussianKernel(4, 1), /odd positive integer, got 4/);
  assert.equal(memory().liveTensors, before);
});

test("noise: sigma on the 0..255 scale, quantised, same seed -> same output, other seed -> other output", () => {
  const before = memory().liveTensors;
  const x = scope(() => tensor([0.5]).expand(1, 3, 64, 64).contiguous());
  const a = addGaussianNoise(x, 8, new Generator(3));
  const b = addGaussianNoise(x, 8, new Generator(3));
  const c = addGaussianNoise(x, 8, new Generator(4));
  assert.ok(a.equal(b));
  assert.ok(!a.equal(c));
  const { std, offLevel } = scope(() => ({
    std: a.sub(x).mul(255).std().item(),
    offLevel: a.mul(255).sub(a.mul(255).round()).abs().max().item(),
  }));
  assert.ok(Math.abs(std - 8) < 0.5, `measured sigma ${std}`);
  assert.ok(offLevel < 1e-4, "noisy values stay on 8-bit levels");
  for (const t of [x, a, b, c]) t.dispose();
  assert.equal(memory().liveTensors, before);
});

test("the pipeline runs blur -> downscale -> noise -> JPEG, each stage as its own function does", async () => {
  const before = memory().liveTensors;
  const hr = hrImage();
  const options = { scale: 4, blur: { sigma: 1.2, size: 7 }, noise: { sigma: 5 }, seed: 11 } as const;
  const deg = new Degradation(options);
  const lr = deg.applySync(hr);
  const manual = scope(() => {
    const blurred = gaussianBlur(hr, 1.2, 7);
    return addGaussianNoise(torchBicubicDown(blurred, 4), 5, new Generator(11));
  });
  assert.deepEqual(lr.shape, [1, 3, 12, 10]);
  assert.ok(lr.equal(manual));

  const withJpeg = new Degradation({ ...options, jpeg: { quality: 40 } });
  assert.throws(
    () => withJpeg.applySync(hr),
    (e: unknown) => e instanceof TasksrError && e.code === "E_CONFIG",
  );
  const jpeg = await withJpeg.apply(hr);
  const manualJpeg = await jpegTensor(manual, 40);
  assert.ok(jpeg.equal(manualJpeg));
  assert.ok(!jpeg.equal(manual), "JPEG at quality 40 changes the image");

  deg.reseed(11);
  const again = deg.applySync(hr);
  assert.ok(again.equal(lr), "reseeding restarts the noise stream");
  for (const t of [hr, lr, manual, jpeg, manualJpeg, again]) t.dispose();
  assert.equal(memory().liveTensors, before);
});

test("matlab-bicubic crops to a multiple of s and matches imresize per image; grey stays grey", async () => {
  const before = memory().liveTensors;
  const img = pattern(43, 30, 2);
  const out = await new Degradation({ method: "matlab-bicubic", scale: 4 }).applyToImage(img);
  assert.deepEqual(out, matlabBicubicImage(img, 4));
  assert.deepEqual([out.width, out.height], [10, 7]);
  const grey = { data: img.data.subarray(0, 43 * 30), width: 43, height: 30, channels: 1 as const };
  const g = await new Degradation({ scale: 2, jpeg: { quality: 90 } }).applyToImage(grey);
  assert.deepEqual([g.width, g.height, g.channels], [21, 15, 1]);
  assert.equal(memory().liveTensors, before);
});

test("images <-> tensors keep exact 8-bit values; torch-bicubic output sizes are floor(H/s)", () => {
  const before = memory().liveTensors;
  const img = pattern(13, 9, 1);
  const x = imagesToTensor([img, pattern(13, 9, 2)]);
  assert.deepEqual(x.shape, [2, 3, 9, 13]);
  assert.deepEqual(tensorToImages(x)[0], img);
  const lr = torchBicubicDown(x, 4);
  assert.deepEqual(lr.shape, [2, 3, 2, 3]);
  assert.ok(levels(lr).every((v) => Number.isInteger(v)));
  x.dispose();
  lr.dispose();
  assert.throws(() => imagesToTensor([img, pattern(12, 9)]), /image 1 is 12x9x3, image 0 is 13x9x3/);
  assert.equal(memory().liveTensors, before);
});

test("degrade options are validated with their path", () => {
  const fails = (o: unknown, re: RegExp) =>
    assert.throws(
      () => new Degradation(o as never),
      (e: unknown) => e instanceof TasksrError && e.code === "E_CONFIG" && re.test(e.message),
    );
  fails({ scale: 4, blur: { sigma: 1, size: 4 } }, /degrade\.blur\.size: must be odd/);
  fails({ scale: 0 }, /degrade\.scale: /);
  fails({ scale: 2, method: "pil" }, /degrade\.method: Invalid option/);
  fails({ scale: 2, nois: { sigma: 1 } }, /degrade\.nois: unknown key/);
});

test("paired mode: Set5 HR with LR_bicubic/X4 (babyx4.png names), sizes checked against the scale", async () => {
  const set5 = join(SHARED_DATA, "sr-bench-set5-set14", "Set5");
  const pairs = await PairedImages.open({ hr: join(set5, "HR"), lr: join(set5, "LR_bicubic", "X4"), scale: 4 });
  assert.equal(pairs.length, 5);
  const p = await pairs.get(0);
  assert.equal(p.id, "baby");
  assert.deepEqual([p.hr.width, p.hr.height], [4 * p.lr.width, 4 * p.lr.height]);
  await assert.rejects(
    PairedImages.open({ hr: join(set5, "HR"), lr: join(set5, "LR_bicubic", "X4"), scale: 3 }),
    (e: unknown) => e instanceof TasksrError && /has no LR partner baby\.\* or babyx3\.\*/.test(e.message),
  );
  const sizes = await PairedImages.open({
    hr: join(set5, "LR_bicubic", "X4"),
    lr: join(set5, "LR_bicubic", "X4"),
    scale: 2,
    onBadSample: "skip",
  });
  assert.equal(sizes.length, 0);
  assert.equal(sizes.skipped.length, 5);
  assert.match(sizes.skipped[0]!.reason, /LR .*babyx4\.png is 128x128, but HR .* at x2 needs 64x64/);
});
