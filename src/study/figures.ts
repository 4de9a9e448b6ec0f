/**
 * A study's pictures: the image grid (rows: validation images; columns: LR, each input of the TDSR view with the H→T
 * network's output drawn on it, HR with the ground truth) and bar charts of the headline metric in both views.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readImage, writeImage } from "../data/io/image.js";
import type { VisualizedImage } from "../eval/visualize.js";
import { type BarDatum, barChart, svgToPng } from "../report/chart.js";
import { composeGrid, type GridCell } from "../report/draw.js";
import { metricLabel } from "../report/settings.js";
import type { ReportRow, StudyReport } from "./report.js";

/** The TDSR-view inputs shown in the grid, in column order (bilinear is left out: it looks like bicubic). */
export const GRID_INPUTS = ["bicubic", "SR-FT", "T→S", "S+T", "SR4IR"] as const;

/** Folder of one TDSR-view input's visualisation. */
export const viewFolder = (seedDir: string, input: string): string =>
  join(seedDir, "tdsr-view", input.replace(/[^\w.-]+/g, "_"));

async function readIndex(dir: string): Promise<VisualizedImage[] | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as VisualizedImage[];
  } catch {
    return undefined;
  }
}

/**
 * The grid from the visualisations under `seedDir/tdsr-view/`: one row per image; LR, then every input of
 * `GRID_INPUTS` that was visualised, then HR (with the ground truth drawn for segmentation and detection).
 */
export async function writeStudyGrid(seedDir: string, out: string, title: string): Promise<string | undefined> {
  const hr = await readIndex(viewFolder(seedDir, "HR"));
  if (hr === undefined || hr.length === 0) return undefined;
  const columns: { name: string; dir: string; index: VisualizedImage[] }[] = [];
  for (const name of GRID_INPUTS) {
    const dir = viewFolder(seedDir, name);
    const index = await readIndex(dir);
    if (index !== undefined) columns.push({ name, dir, index });
  }
  const hrDir = viewFolder(seedDir, "HR");
  const cells: GridCell[] = [];
  for (const [i, img] of hr.entries()) {
    cells.push({ image: await readImage(join(hrDir, img.lr)), caption: "LR" });
    for (const c of columns) {
      const v = c.index[i];
      if (v === undefined) continue;
      const p = v.predicted;
      const verdict = p === undefined ? "" : `: ${p.name}${p.label === v.truth?.label ? "" : " ✗"}`;
      cells.push({ image: await readImage(join(c.dir, v.shown)), caption: `${c.name}${verdict}` });
    }
    const truth = img.truth ? `: ${img.truth.name}` : "";
    cells.push({ image: await readImage(join(hrDir, img.truthImage ?? img.hr)), caption: `HR${truth}` });
  }
  const perRow = columns.length + 2;
  const w = Math.max(...cells.map((c) => c.image.width));
  const h = Math.max(...cells.map((c) => c.image.height));
  const f = 128 / Math.max(w, h);
  const grid = await composeGrid(cells, {
    columns: perRow,
    cellWidth: Math.round(w * f),
    cellHeight: Math.round(h * f),
    fontSize: 12,
    title,
  });
  await writeImage(out, grid);
  return out;
}

const bars = (rows: readonly ReportRow[], key: string): BarDatum[] =>
  rows
    .filter((r) => r.metrics[key] !== undefined)
    .map((r) => ({ label: r.label, value: r.metrics[key]!.mean, error: r.metrics[key]!.std }));

/** Bar charts (SVG and PNG) of the headline metric: SR4IR view and TDSR view side by side as two groups. */
export async function writeStudyChart(rep: StudyReport, out: string): Promise<string[]> {
  const data: BarDatum[] = [
    ...bars(rep.sr4irView, rep.primary).map((d) => ({ ...d, group: "own task net (SR4IR view)" })),
    ...bars(rep.tdsrView, rep.primary).map((d) => ({ ...d, group: "H→T task net (TDSR view)" })),
  ];
  const seeds = rep.seeds.length > 1 ? `, mean ± std over ${rep.seeds.length} seeds` : "";
  const svg = barChart(data, {
    title: `${rep.name}: ${rep.task} x${rep.scale}${seeds}`,
    yLabel: metricLabel(rep.primary),
    width: 900,
    height: 420,
    format: (v) => v.toFixed(1),
  });
  const svgPath = `${out}.svg`;
  const pngPath = `${out}.png`;
  await writeFile(svgPath, svg);
  await writeFile(pngPath, await svgToPng(svg));
  return [svgPath, pngPath];
}
