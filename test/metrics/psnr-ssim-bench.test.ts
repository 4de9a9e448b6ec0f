// Set5/Set14 bicubic x2/x3/x4 under the basicsr protocol against the published-protocol reference values
// (bicubic_psnr_reference.json: PSNR-Y and SSIM-Y per image, 4 decimals).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readImage } from "../../src/data/io/image.js";
import { imresizeMatlab, modcrop } from "../../src/data/resize/matlab.js";
import { PsnrMeter, SsimMeter } from "../../src/metrics/index.js";
import { SHARED_DATA } from "../support/paths.js";

const ROOT = join(SHARED_DATA, "sr-bench-set5-set14");

interface Reference {
  results: Record<string, { per_image: Record<string, { psnr_y: number }>; mean_psnr_y: number }>;
  ssim_bicubic: { results: Record<string, { per_image: Record<string, number>; mean_ssim_y_float: number }> };
}
const REF = JSON.parse(readFileSync(join(ROOT, "bicubic_psnr_reference.json"), "utf8")) as Reference;

// References carry 4 decimals (rounding error <= 5e-5): both tolerances are that rounding plus 1e-6.
const PSNR_TOL = 5.1e-5;
const SSIM_TOL = 5.1e-5;

for (const set of ["Set5", "Set14"]) {
  for (const s of [2, 3, 4]) {
    test(`basicsr PSNR-Y and SSIM-Y of bicubic ${set} x${s} equal the reference per image`, async () => {
      const key = `${set}_x${s}`;
      const psnrRef = REF.results[key]!;
      const ssimRef = REF.ssim_bicubic.results[key]!;
      const psnrMeter = new PsnrMeter({ protocol: "basicsr", scale: s });
      const ssimMeter = new SsimMeter({ protocol: "basicsr", scale: s });
      const names = readdirSync(join(ROOT, set, "HR")).map((f) => f.replace(/\.png$/, ""));
      for (const name of names) {
        const hr = await readImage(join(ROOT, set, "HR", `${name}.png`), { channels: "keep" });
        const lr = await readImage(join(ROOT, set, "LR_bicubic", `X${s}`, `${name}x${s}.png`), { channels: "keep" });
        const sr = imresizeMatlab(lr, s);
        const gt = modcrop(hr, s);
        const p = psnrMeter.update(sr, gt);
        const q = ssimMeter.update(sr, gt);
        const pRef = psnrRef.per_image[name]!.psnr_y;
        const qRef = ssimRef.per_image[name]!;
        assert.ok(Math.abs(p - pRef) <= PSNR_TOL, `${key} ${name}: PSNR ${p} vs ${pRef}`);
        assert.ok(Math.abs(q - qRef) <= SSIM_TOL, `${key} ${name}: SSIM ${q} vs ${qRef}`);
      }
      const mean = psnrMeter.compute();
      assert.equal(mean.images, names.length);
      assert.ok(Math.abs(mean.psnr - psnrRef.mean_psnr_y) <= PSNR_TOL, `${key} mean PSNR ${mean.psnr}`);
      const meanSsim = ssimMeter.compute().ssim;
      assert.ok(Math.abs(meanSsim - ssimRef.mean_ssim_y_float) <= SSIM_TOL, `${key} mean SSIM ${meanSsim}`);
    });
  }
}
