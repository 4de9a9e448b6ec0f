import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { createDataset } from "../../src/data/datasets/registry.js";
import type { Image } from "../../src/data/io/image.js";
import { detectionSynthSchema, drawDetectionSample } from "../../src/data/synthetic/detection.js";
import { generateSynthetic } from "../../src/data/synthetic/index.js";
import { inkAt, REGION_TEXTURES, type Texture } from "../../src/data/synthetic/textures.js";
import type { BoxTarget } from "../../src/data/types.js";
import { tempDir } from "../support/data_trees.js";
import { countFiles, fails, treeDigest } from "../support/synthetic.js";

const TINY = { train: 8, val: 4 };

/**
 * True when the pixels of window [x0, x1) x [y0, y1) are two flat colours (up to the noise) laid out as `t` at some
 * phase, ink darker than paper.
 */
function fitsTexture(img: Image, t: Texture, x0: number, y0: number, x1: number, y1: number): boolean {
  const at = (x: number, y: number) => {
    const o = (y * img.width + x) * 3;
    return [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
  };
  for (let py = 0; py < t.height; py++) {
    for (let px = 0; px < t.width; px++) {
      const sums = { ink: [0, 0, 0, 0], paper: [0, 0, 0, 0] };
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const s = inkAt(t, x - x0 + px, y - y0 + py) ? sums.ink : sums.paper;
          const c = at(x, y);
          for (let k = 0; k < 3; k++) s[k]! += c[k]!;
          s[3]!++;
        }
      }
      const mean = (s: number[]) => s.slice(0, 3).map((v) => v / s[3]!);
      const [ink, paper] = [mean(sums.ink), mean(sums.paper)];
      let fits = true;
      for (let y = y0; y < y1 && fits; y++) {
        for (let x = x0; x < x1 && fits; x++) {
          const want = inkAt(t, x - x0 + px, y - y0 + py) ? ink : paper;
          fits = at(x, y).every((v, k) => Math.abs(v - want[k]!) <= 12);
        }
      }
      if (fits) return true;
    }
  }
  return false;
}

test("detection trees are byte-identical for the same seed and differ for another", async () => {
  const base = tempDir("synth-det");
  const a = await generateSynthetic("detection", join(base, "a"), TINY);
  const b = await generateSynthetic("detection", join(base, "b"), TINY);
  const c = await generateSynthetic("detection", join(base, "c"), { ...TINY, seed: 2 });
  assert.equal(treeDigest(a.root), treeDigest(b.root));
  assert.notEqual(treeDigest(a.root), treeDigest(c.root));
  // 12 images + 2 JSON files + the manifest.
  assert.equal(countFiles(a.root), 15);
});

test("the coco-det loader reads every drawn object with its exact box, inside the image", async () => {
  const r = await generateSynthetic("detection", join(tempDir("synth-det"), "d"), { ...TINY, size: 64 });
  assert.deepEqual(r.classes, ["vlines", "hlines", "checker", "vlines3", "grid3"]);
  const o = detectionSynthSchema.parse({ ...TINY, size: 64 });
  for (const split of ["train", "val"] as const) {
    const ds = await createDataset(r[split], { where: `data.${split}` });
    assert.equal(ds.length, TINY[split]);
    assert.deepEqual(ds.classes, r.classes);
    for (let i = 0; i < ds.length; i++) {
      const s = await ds.get(i);
      const t = s.target as BoxTarget;
      const drawn = drawDetectionSample(o, split, i).objects;
      assert.ok(drawn.length >= 1 && drawn.length <= 4);
      assert.deepEqual(s.image.data, drawDetectionSample(o, split, i).image.data);
      assert.deepEqual(
        [...t.labels],
        drawn.map((b) => b.label),
      );
      assert.deepEqual(
        [...t.boxes],
        drawn.flatMap((b) => [b.x, b.y, b.x + b.w, b.y + b.h]),
      );
      for (const [k, b] of drawn.entries()) {
        assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.w <= 64 && b.y + b.h <= 64, `box ${k} of ${s.id} leaves the image`);
        assert.ok(b.w >= 8 && b.h >= 8 && b.w <= 16 && b.h <= 16);
        // The box holds its class texture exactly; one pixel more on any side does not.
        const tex = REGION_TEXTURES[b.label]!;
        assert.ok(fitsTexture(s.image, tex, b.x, b.y, b.x + b.w, b.y + b.h), `box ${k} of ${s.id} is not ${tex.name}`);
        const grown = [
          [b.x - 1, b.y, b.x + b.w, b.y + b.h],
          [b.x, b.y - 1, b.x + b.w, b.y + b.h],
          [b.x, b.y, b.x + b.w + 1, b.y + b.h],
          [b.x, b.y, b.x + b.w, b.y + b.h + 1],
        ].filter(([x0, y0, x1, y1]) => x0! >= 0 && y0! >= 0 && x1! <= 64 && y1! <= 64);
        for (const g of grown)
          assert.ok(!fitsTexture(s.image, tex, g[0]!, g[1]!, g[2]!, g[3]!), `box ${k} of ${s.id} is loose`);
        for (const other of drawn.slice(k + 1)) {
          const apart =
            other.x >= b.x + b.w + 2 ||
            b.x >= other.x + other.w + 2 ||
            other.y >= b.y + b.h + 2 ||
            b.y >= other.y + other.h + 2;
          assert.ok(apart, `objects of ${s.id} overlap`);
        }
      }
    }
  }
});

test("bad detection options are named", async () => {
  const root = join(tempDir("synth-det"), "e");
  await assert.rejects(
    generateSynthetic("detection", root, { maxObjects: 0 }),
    fails("E_CONFIG", /detection options\.maxObjects: .*1/),
  );
  await assert.rejects(
    generateSynthetic("detection", root, { size: 96, scale: 5 }),
    fails("E_CONFIG", /options\.size: must be a multiple of scale \(5\), got 96/),
  );
});
