// Drawing on RGB images: colourised masks, boxes with labels, SVG text and captioned grids.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeImage, encodeImage, type Image } from "../../src/data/io/image.js";
import { blend, CATEGORY_COLOURS, colorizeMask, composeGrid, drawBoxes, drawText } from "../../src/report/draw.js";

const solid = (width: number, height: number, c: readonly number[]): Image => {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = c[i % 3]!;
  return { data, width, height, channels: 3 };
};
const px = (img: Image, x: number, y: number) =>
  Array.from(img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3));
/** Pixels in [x0, x1) x [y0, y1) that differ from colour c. */
function changed(img: Image, c: readonly number[], x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (px(img, x, y).some((v, k) => v !== c[k])) n++;
  return n;
}

test("colorizeMask: VOC colours by index (0 black, 1 dark red, 15 person pink, 255 border cream)", () => {
  const m = colorizeMask(Uint8Array.from([0, 1, 15, 255]), 2, 2);
  assert.deepEqual(
    [px(m, 0, 0), px(m, 1, 0), px(m, 0, 1), px(m, 1, 1)],
    [
      [0, 0, 0],
      [128, 0, 0],
      [192, 128, 128],
      [224, 224, 192],
    ],
  );
  assert.throws(() => colorizeMask(new Uint8Array(3), 2, 2), /3 labels for a 2x2 map/);
  const half = blend(solid(1, 1, [0, 0, 0]), solid(1, 1, [200, 100, 50]), 0.5);
  assert.deepEqual(px(half, 0, 0), [100, 50, 25]);
});

test("drawBoxes: exact outlines of lineWidth px, untouched interior, a filled label tab with text above the box", async () => {
  const grey = [90, 90, 90];
  const img = solid(80, 60, grey);
  const c = CATEGORY_COLOURS[1]!;
  const out = await drawBoxes(img, [{ box: [20, 30, 50, 55], label: "cat 0.91", colour: c }], {
    lineWidth: 2,
    fontSize: 10,
  });
  assert.deepEqual([out.width, out.height, out.channels], [80, 60, 3]);
  assert.deepEqual(img.data, solid(80, 60, grey).data, "the input is not modified");
  for (const [x, y] of [
    [20, 40],
    [21, 40],
    [49, 40],
    [35, 30],
    [35, 54],
  ])
    assert.deepEqual(px(out, x!, y!), [...c], `(${x}, ${y})`);
  assert.equal(changed(out, grey, 22, 32, 48, 53), 0, "interior untouched");
  assert.deepEqual(px(out, 19, 40), grey);
  // The label tab (13 px high above y = 30) holds the box colour and white text.
  const tab = { white: 0, fill: 0 };
  for (let y = 17; y < 30; y++)
    for (let x = 20; x < 60; x++) {
      const p = px(out, x, y);
      if (p.every((v) => v > 200)) tab.white++;
      if (p.every((v, k) => v === c[k])) tab.fill++;
    }
  assert.ok(tab.white > 15 && tab.fill > 100, `label tab: ${JSON.stringify(tab)}`);
  assert.equal(changed(out, grey, 0, 0, 80, 16), 0, "nothing drawn above the tab");
  await assert.rejects(drawBoxes(img, [{ box: [5, 5, 5, 9] }]), /box \[5,5,5,9\] is not xyxy/);
});

test("drawText renders glyphs only near its anchor", async () => {
  const out = await drawText(solid(120, 40, [255, 255, 255]), [{ x: 4, y: 4, text: "mIoU 55.0", fontSize: 16 }]);
  assert.ok(changed(out, [255, 255, 255], 0, 0, 100, 26) > 40, "dark glyph pixels");
  assert.equal(changed(out, [255, 255, 255], 0, 28, 120, 40), 0);
});

test("composeGrid: layout size, cells scaled by nearest neighbour into place, captions and title, PNG round trip", async () => {
  const a = solid(4, 3, [255, 0, 0]);
  a.data.set([0, 0, 255], 0); // top-left pixel blue
  const b = solid(8, 6, [0, 255, 0]);
  const grid = await composeGrid(
    [
      { image: a, caption: "LR" },
      { image: b, caption: "SR" },
      { image: b, caption: "HR" },
    ],
    { columns: 2, gap: 4, fontSize: 10, title: "id 0001" },
  );
  const captionH = 16;
  const titleH = 18;
  assert.deepEqual([grid.width, grid.height], [2 * 8 + 3 * 4, titleH + 2 * (6 + captionH) + 3 * 4]);
  // Cell 0: 4x3 scaled x2 to 8x6 at (4, titleH + 4): the blue pixel becomes a 2x2 block.
  const top = titleH + 4;
  assert.deepEqual(
    [px(grid, 4, top), px(grid, 5, top + 1), px(grid, 6, top)],
    [
      [0, 0, 255],
      [0, 0, 255],
      [255, 0, 0],
    ],
  );
  assert.deepEqual(px(grid, 16, top + 3), [0, 255, 0]);
  assert.ok(changed(grid, [255, 255, 255], 0, top + 6, 14, top + 6 + captionH) > 5, "caption under cell 0");
  assert.ok(changed(grid, [255, 255, 255], 0, 0, grid.width, titleH) > 5, "title");
  const png = await decodeImage(await encodeImage(grid, "png"), "grid.png");
  assert.deepEqual([png.width, png.height], [grid.width, grid.height]);
  await assert.rejects(composeGrid([]), /no cells/);
});
