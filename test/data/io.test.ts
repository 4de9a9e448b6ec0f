import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { encode } from "fast-png";
import sharp from "sharp";
import { parseClassNames } from "../../src/data/io/class_names.js";
import { parseIdx, readIdx } from "../../src/data/io/idx.js";
import { decodeMask, readMask, vocPalette, writeMask } from "../../src/data/io/mask.js";
import { parseVocXml } from "../../src/data/io/voc_xml.js";
import { TasksrError } from "../../src/errors.js";
import { tempDir, vocXml } from "../support/data_trees.js";

const badFile = (re: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === "E_BAD_FILE" && re.test(e.message);

test("palette masks round-trip their indices (255 kept); the palette is VOC's", async () => {
  const dir = tempDir("mask");
  const mask = Uint8Array.from({ length: 5 * 3 }, (_, i) => [0, 1, 20, 255, 7][i % 5]!);
  await writeMask(join(dir, "m.png"), { mask, width: 5, height: 3 });
  const back = await readMask(join(dir, "m.png"));
  assert.deepEqual(back, { kind: "mask", mask, width: 5, height: 3 });
  const palette = vocPalette();
  assert.deepEqual(palette.slice(0, 4), [
    [0, 0, 0],
    [128, 0, 0],
    [0, 128, 0],
    [128, 128, 0],
  ]);
  assert.deepEqual(palette[255], [224, 224, 192]);
});

test("4-bit palette and 8-bit grey PNG masks read as indices", async () => {
  // 3 x 2 pixels at 4 bits: rows are byte-aligned, two pixels per byte, high nibble first.
  const packed = Uint8Array.from([0x12, 0x30, 0x45, 0x60]);
  const png4 = encode({ width: 3, height: 2, data: packed, depth: 4, channels: 1, palette: vocPalette().slice(0, 16) });
  assert.deepEqual(Array.from(decodeMask(png4, "four-bit.png").mask), [1, 2, 3, 4, 5, 6]);
  const grey = await sharp(Buffer.from([0, 9, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } })
    .toColourspace("b-w")
    .png()
    .toBuffer();
  assert.deepEqual(Array.from(decodeMask(grey, "grey.png").mask), [0, 9, 200, 255]);
});

test("RGB, truncated and missing mask files fail naming the file", async () => {
  const rgb = await sharp(Buffer.alloc(12), { raw: { width: 2, height: 2, channels: 3 } })
    .png()
    .toBuffer();
  assert.throws(() => decodeMask(rgb, "rgb.png"), badFile(/mask rgb\.png: has 3 channels/));
  const dir = tempDir("mask");
  await writeMask(join(dir, "ok.png"), { mask: new Uint8Array(64 * 64), width: 64, height: 64 });
  const bytes = readFileSync(join(dir, "ok.png"));
  writeFileSync(join(dir, "cut.png"), bytes.subarray(0, bytes.length - 20));
  await assert.rejects(readMask(join(dir, "cut.png")), badFile(/cut\.png: not a readable PNG/));
  await assert.rejects(readMask(join(dir, "none.png")), badFile(/none\.png: cannot read \(ENOENT\)/));
});

test("VOC XML: objects always an array, difficult kept, truncated ignored, size read", () => {
  const one = parseVocXml(vocXml("a.jpg", 30, 20, [{ name: "dog", box: [1, 2, 10, 12], difficult: true }]), "a.xml");
  assert.deepEqual(one, {
    filename: "a.jpg",
    size: { width: 30, height: 20 },
    objects: [{ name: "dog", difficult: true, bndbox: { xmin: 1, ymin: 2, xmax: 10, ymax: 12 } }],
  });
  const none = parseVocXml(vocXml("b.jpg", 30, 20, []), "b.xml");
  assert.deepEqual(none.objects, []);
  const two = parseVocXml(
    vocXml("c.jpg", 30, 20, [
      { name: "cat", box: [1, 1, 2, 2] },
      { name: "cow", box: [3.5, 1, 9, 9] },
    ]),
    "c.xml",
  );
  assert.deepEqual(
    two.objects.map((o) => [o.name, o.difficult, o.bndbox.xmin]),
    [
      ["cat", false, 1],
      ["cow", false, 3.5],
    ],
  );
});

test("VOC XML errors name the file, the line, and the object index", () => {
  assert.throws(
    () => parseVocXml("<annotation><object><name>a</nam></object></annotation>", "bad.xml"),
    badFile(/VOC annotation bad\.xml: malformed XML at line 1, column \d+/),
  );
  const noBox = vocXml("x.jpg", 9, 9, [
    { name: "dog", box: [1, 1, 2, 2] },
    { name: "cat", box: [1, 1, 2, 2] },
  ]).replace(/<bndbox>(?![\s\S]*<bndbox>)[\s\S]*?<\/bndbox>/, "");
  assert.throws(() => parseVocXml(noBox, "nobox.xml"), badFile(/nobox\.xml: object\[1\] \(cat\) has no <bndbox>/));
  const nan = vocXml("x.jpg", 9, 9, [{ name: "dog", box: [1, 1, 2, 2] }]).replace("<xmax>2</xmax>", "<xmax>two</xmax>");
  assert.throws(() => parseVocXml(nan, "nan.xml"), badFile(/object\[0\]\.bndbox\.xmax must be a number, got "two"/));
  const flipped = vocXml("x.jpg", 9, 9, [{ name: "dog", box: [5, 1, 2, 2] }]);
  assert.throws(() => parseVocXml(flipped, "flip.xml"), badFile(/object\[0\] \(dog\) has an empty box/));
  assert.throws(() => parseVocXml("<root/>", "root.xml"), badFile(/no <annotation> root element/));
});

function idxBytes(dims: number[], data: number[], type = 0x08): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  for (const [i, d] of dims.entries()) head.writeUInt32BE(d, 4 + 4 * i);
  return Buffer.concat([head, Buffer.from(data)]);
}

test("IDX files parse with their dimensions, gzip or not, and reject bad headers", async () => {
  const bytes = idxBytes([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const parsed = parseIdx(bytes, "x.idx");
  assert.deepEqual(parsed.dims, [2, 2, 3]);
  assert.deepEqual(Array.from(parsed.data), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const dir = tempDir("idx");
  writeFileSync(join(dir, "a-idx3-ubyte.gz"), gzipSync(bytes));
  assert.deepEqual((await readIdx(join(dir, "a-idx3-ubyte.gz"))).dims, [2, 2, 3]);
  assert.throws(
    () => parseIdx(Buffer.from([1, 0, 8, 1, 0, 0, 0, 0]), "m.idx"),
    badFile(/m\.idx: bad magic 01 00 08 01/),
  );
  assert.throws(() => parseIdx(idxBytes([1], [0], 0x0d), "f.idx"), badFile(/element type 0xd is not supported/));
  assert.throws(
    () => parseIdx(idxBytes([4], [1, 2, 3]), "s.idx"),
    badFile(/dimensions \[4\] need 4 data bytes, found 3/),
  );
  writeFileSync(join(dir, "cut.gz"), gzipSync(bytes).subarray(0, 12));
  await assert.rejects(readIdx(join(dir, "cut.gz")), badFile(/cut\.gz: corrupt gzip data/));
});

test("class-name files: YOLO names map, COCO categories, plain lists", () => {
  assert.deepEqual(
    [...parseClassNames("names:\n  0: person\n  1: bicycle\n", "c.yaml")],
    [
      [0, "person"],
      [1, "bicycle"],
    ],
  );
  assert.deepEqual(
    [...parseClassNames("names: [a, b]\n", "c.yml")],
    [
      [0, "a"],
      [1, "b"],
    ],
  );
  const coco = JSON.stringify({ categories: [{ id: 7, name: "x" }] });
  assert.deepEqual([...parseClassNames(coco, "c.json")], [[7, "x"]]);
  assert.deepEqual(
    [...parseClassNames("cat\n\ndog\n", "labels.txt")],
    [
      [0, "cat"],
      [1, "dog"],
    ],
  );
  assert.throws(
    () => parseClassNames("names: {a: 1}", "bad.yaml"),
    badFile(/bad\.yaml: key "a" is not a non-negative/),
  );
  assert.throws(() => parseClassNames("{", "bad.json"), badFile(/bad\.json: malformed JSON/));
});
