import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decode, encode } from "fast-png";
import sharp from "sharp";
import { decodeImage, jpegOrientation, readImage } from "../../src/data/io/image.js";
import { decodeMask } from "../../src/data/io/mask.js";
import { TasksrError } from "../../src/errors.js";
import { tempDir } from "../support/data_trees.js";
import { FIXTURES, SHARED_DATA } from "../support/paths.js";

interface Fixture {
  cases: { name: string; jpeg: string; mode: "RGB" | "L"; rgb: string; grey: string | null }[];
  coco: { file: string; width: number; height: number; sha256: string }[];
}
const fx = JSON.parse(readFileSync(join(FIXTURES, "data", "jpeg_decode.json"), "utf8")) as Fixture;
const COCO = join(SHARED_DATA, "coco-val2017-128", "images", "val2017");

const badFile = (re: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === "E_BAD_FILE" && re.test(e.message);

test("JPEG decoding gives PIL's pixels bit for bit (4:2:0, 4:2:2, 4:4:4, progressive, grey; tools/fixtures/jpeg_decode.py)", async () => {
  assert.equal(fx.cases.length, 5);
  for (const c of fx.cases) {
    const bytes = Buffer.from(c.jpeg, "base64");
    const rgb = await decodeImage(bytes, c.name);
    assert.equal(rgb.channels, 3, c.name);
    assert.deepEqual(Buffer.from(rgb.data), Buffer.from(c.rgb, "base64"), c.name);
    const kept = await decodeImage(bytes, c.name, { channels: "keep" });
    if (c.grey) {
      assert.equal(kept.channels, 1, c.name);
      assert.deepEqual(Buffer.from(kept.data), Buffer.from(c.grey, "base64"), c.name);
    } else {
      assert.equal(kept.channels, 3, c.name);
    }
  }
});

test(
  "the first COCO val2017 photos decode to PIL's bytes",
  { skip: !existsSync(COCO) && "no ../shared/data" },
  async () => {
    for (const c of fx.coco) {
      const img = await readImage(join(COCO, c.file));
      assert.deepEqual([img.width, img.height], [c.width, c.height], c.file);
      assert.equal(createHash("sha256").update(img.data).digest("hex"), c.sha256, c.file);
    }
  },
);

test("EXIF-rotated and CMYK JPEGs are rotated and converted; damaged ones fail naming the file", async () => {
  const raw = { raw: { width: 6, height: 4, channels: 3 as const } };
  const px = Buffer.from(Array.from({ length: 72 }, (_, i) => (i * 29) % 256));
  const rotated = await sharp(px, raw).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  assert.equal(jpegOrientation(rotated), 6);
  const r = await decodeImage(rotated, "rotated.jpg");
  assert.deepEqual([r.width, r.height, r.channels], [4, 6, 3]);
  const plain = await sharp(px, raw).jpeg().toBuffer();
  assert.equal(jpegOrientation(plain), 1);
  const cmyk = await sharp(px, raw).toColourspace("cmyk").jpeg().toBuffer();
  const c = await decodeImage(cmyk, "cmyk.jpg");
  assert.deepEqual([c.width, c.height, c.channels], [6, 4, 3]);
  const dir = tempDir("jpeg");
  const big = await sharp(Buffer.alloc(64 * 64 * 3, 90), { raw: { width: 64, height: 64, channels: 3 } })
    .jpeg()
    .toBuffer();
  writeFileSync(join(dir, "cut.jpg"), big.subarray(0, big.length - 40));
  await assert.rejects(readImage(join(dir, "cut.jpg")), badFile(/cannot decode image .*cut\.jpg/));
  await assert.rejects(readImage(join(dir, "gone.jpg")), badFile(/gone\.jpg: the file does not exist/));
});

test("index PNGs (1, 2, 4, 8 bits, grey and palette, every row filter) decode as the JS decoder reads them", () => {
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (const depth of [1, 2, 4, 8] as const) {
    for (const [w, h] of [
      [1, 1],
      [13, 7],
      [64, 33],
    ] as const) {
      const values = Array.from({ length: w * h }, (_, i) =>
        // Smooth runs and noise, so that the encoder picks different row filters.
        Math.floor(((i % w < w / 2 ? (i % w) / w : rand()) * 2 ** depth) % 2 ** depth),
      );
      const perByte = 8 / depth;
      const stride = Math.ceil(w / perByte);
      const packed = new Uint8Array(stride * h);
      values.forEach((v, i) => {
        const x = i % w;
        const y = Math.floor(i / w);
        packed[y * stride + Math.floor(x / perByte)]! |= v << (8 - depth * ((x % perByte) + 1));
      });
      for (const palette of [false, true]) {
        const png = encode({
          width: w,
          height: h,
          data: depth === 8 ? Uint8Array.from(values) : packed,
          depth,
          channels: 1,
          ...(palette ? { palette: Array.from({ length: 2 ** depth }, (_, i) => [i, i, i]) } : {}),
        });
        const m = decodeMask(png, "m.png");
        assert.deepEqual(Array.from(m.mask), values, `${depth}-bit ${palette ? "palette" : "grey"} ${w}x${h}`);
        const ref = decode(png);
        assert.equal(ref.width * ref.height, m.mask.length);
      }
    }
  }
  const ok = encode({ width: 4, height: 4, data: new Uint8Array(16), depth: 8, channels: 1 });
  const flipped = Uint8Array.from(ok);
  flipped[ok.length - 20]! ^= 0xff; // inside the IDAT chunk: its CRC no longer matches
  assert.throws(() => decodeMask(flipped, "bad.png"), badFile(/mask bad\.png: not a readable PNG \(CRC mismatch/));
});
