import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Image } from "../../src/data/io/image.js";
import { resizeBilinear, resizeNearest } from "../../src/data/transforms/resample.js";
import { FIXTURES } from "../support/paths.js";

interface Case {
  input: "rgb" | "grey";
  mode: "bilinear" | "nearest";
  width: number;
  height: number;
  data: string;
}

/** The input formula of tools/fixtures/transforms-resample.py. */
function pattern(w: number, h: number, c: 1 | 3): Image {
  const data = new Uint8Array(w * h * c);
  let i = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) data[i++] = (x * 37 + y * 91 + ch * 53 + ((x * y) % 29) * 7) % 256;
  return { data, width: w, height: h, channels: c };
}

test("bilinear (antialiased) and nearest resize match PIL bit-exactly (shrink, enlarge, one axis, mixed)", () => {
  const fx = JSON.parse(readFileSync(join(FIXTURES, "transforms-resample.json"), "utf8")) as {
    inputSize: [number, number];
    cases: Case[];
  };
  const [w, h] = fx.inputSize;
  assert.ok(fx.cases.length >= 20);
  for (const c of fx.cases) {
    const img = pattern(w, h, c.input === "rgb" ? 3 : 1);
    const out =
      c.mode === "bilinear"
        ? resizeBilinear(img, c.width, c.height).data
        : resizeNearest(img.data, w, h, img.channels, c.width, c.height);
    const ref = Buffer.from(c.data, "base64");
    assert.equal(out.length, ref.length, `${c.input} ${c.mode} ${c.width}x${c.height}`);
    let diff = 0;
    for (let i = 0; i < ref.length; i++) if (out[i] !== ref[i]) diff++;
    assert.equal(diff, 0, `${c.input} ${c.mode} ${c.width}x${c.height}: ${diff} values differ from PIL`);
  }
});

test("resizing to the same size copies the image", () => {
  const img = pattern(7, 5, 3);
  const out = resizeBilinear(img, 7, 5);
  assert.deepEqual(out.data, img.data);
  assert.notEqual(out.data, img.data);
});
