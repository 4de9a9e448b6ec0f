import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readImage } from "../../src/data/io/image.js";
import { imresizeMatlab, modcrop } from "../../src/data/resize/matlab.js";
import { SHARED_DATA } from "../support/paths.js";

const ROOT = join(SHARED_DATA, "sr-bench-set5-set14");

for (const set of ["Set5", "Set14"]) {
  for (const s of [2, 3, 4]) {
    test(`matlab bicubic reproduces every ${set} LR_bicubic/X${s} file bit-exactly`, async () => {
      for (const f of readdirSync(join(ROOT, set, "HR"))) {
        const name = f.replace(/\.png$/, "");
        const hr = await readImage(join(ROOT, set, "HR", f), { channels: "keep" });
        const lr = await readImage(join(ROOT, set, "LR_bicubic", `X${s}`, `${name}x${s}.png`), { channels: "keep" });
        const out = imresizeMatlab(modcrop(hr, s), 1 / s);
        assert.equal(out.width, lr.width, `${name} width`);
        assert.equal(out.height, lr.height, `${name} height`);
        assert.equal(out.channels, lr.channels, `${name} channels`);
        let diff = 0;
        for (let i = 0; i < out.data.length; i++) if (out.data[i] !== lr.data[i]) diff++;
        assert.equal(diff, 0, `${set}/${name} x${s}: ${diff} pixels differ`);
      }
    });
  }
}

test("matlab bicubic keeps constant images constant and sizes ceil(in * scale)", () => {
  const img = { data: new Uint8Array(7 * 5 * 3).fill(77), width: 5, height: 7, channels: 3 as const };
  const up = imresizeMatlab(img, 3);
  assert.equal(up.width, 15);
  assert.equal(up.height, 21);
  assert.ok(up.data.every((v) => v === 77));
  const down = imresizeMatlab(img, 1 / 2);
  assert.equal(down.width, 3);
  assert.equal(down.height, 4);
  assert.ok(down.data.every((v) => v === 77));
});
