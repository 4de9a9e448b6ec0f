// Hand-written SVG charts: content (labels, values, error bars, legend) and PNG rendering at the requested size.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeImage } from "../../src/data/io/image.js";
import { barChart, lineChart, niceTicks, svgToPng } from "../../src/report/chart.js";

test("niceTicks: 1/2/5 steps covering the range", () => {
  assert.deepEqual(niceTicks(0, 71.4), [0, 20, 40, 60, 80]);
  assert.deepEqual(niceTicks(0.2, 1.1), [0.2, 0.4, 0.6, 0.8, 1, 1.2]);
  assert.deepEqual(niceTicks(3, 3), [3]);
});

test("barChart: labels, value labels, error bars and groups; PNG of the requested size", async () => {
  const svg = barChart(
    [
      { label: "H→T", value: 86.4 },
      { label: "S→T", value: 68.3, error: 1.2 },
      { label: "SR4IR <x8>", value: 71.4, error: 0.5 },
    ],
    { title: "Cars x8", yLabel: "top-1 (%)", width: 500, height: 300 },
  );
  assert.match(svg, /^<svg [^>]*width="500" height="300"/);
  for (const s of ["Cars x8", "top-1 (%)", "H→T", "S→T", "SR4IR &lt;x8&gt;", ">86.4<", ">68.3<", ">71.4<"])
    assert.ok(svg.includes(s), s);
  assert.equal((svg.match(/<path d="M/g) ?? []).length, 2, "two error bars");
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 3, "three bars");
  const png = await decodeImage(await svgToPng(svg), "bar.png");
  assert.deepEqual([png.width, png.height], [500, 300]);
  const grouped = barChart([
    { label: "S→T", value: 52.3, group: "x4" },
    { label: "S→T", value: 40.1, group: "x8" },
    { label: "SR4IR", value: 55, group: "x4" },
  ]);
  assert.ok(grouped.includes(">x4<") && grouped.includes(">x8<"), "legend");
  assert.throws(() => barChart([]), /no data/);
  assert.throws(() => barChart([{ label: "a", value: Number.NaN }]), /bar "a" has value NaN/);
});

test("lineChart: one path per series, legend names, log axis; PNG of the requested size", async () => {
  const svg = lineChart(
    [
      {
        name: "000_H2T task",
        points: [
          [1, 2.3],
          [2, 1.1],
          [3, 0.6],
        ],
      },
      {
        name: "014_SR4IR pix",
        points: [
          [1, 0.08],
          [3, 0.03],
        ],
      },
    ],
    { title: "training loss", xLabel: "iteration", yLabel: "loss", logY: true, width: 420, height: 260 },
  );
  for (const s of ["000_H2T task", "014_SR4IR pix", "training loss", "iteration"]) assert.ok(svg.includes(s), s);
  assert.equal((svg.match(/<path d="M[^"]*" fill="none" stroke="#/g) ?? []).length, 2);
  const png = await decodeImage(await svgToPng(svg), "line.png");
  assert.deepEqual([png.width, png.height], [420, 260]);
  assert.throws(() => lineChart([{ name: "x", points: [[1, Number.NaN]] }]), /no finite points/);
});
