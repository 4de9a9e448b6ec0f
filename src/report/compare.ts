/**
 * Comparing finished runs: one row per run (setting, task metric, PSNR under both protocols, SSIM) from its
 * results.json, training curves from its metrics.jsonl, a Markdown table, and charts (metric vs setting with
 * mean ± std over runs that share task, setting and scale, e.g. seeds; loss vs iteration per run).
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Task } from "../data/types.js";
import { TasksrError } from "../errors.js";
import { hasRecipe } from "../train/recipes/index.js";
import { readResults } from "../train/run.js";
import { type BarDatum, barChart, type LineSeries, lineChart } from "./chart.js";
import { metricLabel, primaryMetric, settingLabel, settingOrder } from "./settings.js";

export interface CompareRow {
  run: string;
  dir: string;
  recipe: string;
  /** The papers' label: H→T, L→T, SR-FT, S→T, T→S, S+T, SR4IR. */
  setting: string;
  task: string;
  scale: number;
  /** Headline metric key (top1, mIoU, AP) and value. */
  metric: string;
  value: number | undefined;
  psnr_sr4ir?: number;
  psnr_basicsr?: number;
  ssim?: number;
  iterations: number;
  seconds: number;
}

/** Per run, the values logged at each iteration (the last record wins where a resumed run logged one twice). */
export type Curves = Map<string, { iter: number; values: Record<string, number> }[]>;

/** Logged values that are not losses: bookkeeping, throughput, and the staged loss weights of T→S runs. */
const NOT_LOSSES = new Set(["type", "epoch", "iter", "imgPerSec", "alpha", "beta"]);

export function readRow(dir: string): CompareRow {
  const r = readResults(dir);
  if (!hasRecipe(r.recipe)) throw new TasksrError("E_BAD_FILE", `${dir}/results.json: unknown recipe "${r.recipe}"`);
  const task = r.task as Task;
  const metric = primaryMetric(task);
  const row: CompareRow = {
    run: r.name,
    dir,
    recipe: r.recipe,
    setting: settingLabel(r.recipe),
    task,
    scale: r.scale,
    metric,
    value: r.final[metric],
    iterations: r.iterations,
    seconds: r.seconds,
  };
  for (const k of ["psnr_sr4ir", "psnr_basicsr", "ssim"] as const) if (r.final[k] !== undefined) row[k] = r.final[k];
  return row;
}

/** Training records of a run's metrics.jsonl: loss values by iteration (learning rates, loss weights and throughput left out). */
export function readCurves(dir: string): { iter: number; values: Record<string, number> }[] {
  const f = join(dir, "metrics.jsonl");
  if (!existsSync(f)) return [];
  const byIter = new Map<number, Record<string, number>>();
  for (const [i, line] of readFileSync(f, "utf8").split("\n").entries()) {
    if (!line.trim()) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new TasksrError("E_BAD_FILE", `${f}:${i + 1}: not a JSON line`);
    }
    if (rec.type !== "train" || typeof rec.iter !== "number") continue;
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(rec)) {
      if (!NOT_LOSSES.has(k) && !k.startsWith("lr_") && typeof v === "number") values[k] = v;
    }
    byIter.set(rec.iter, values);
  }
  return [...byIter.entries()].sort(([a], [b]) => a - b).map(([iter, values]) => ({ iter, values }));
}

/** Rows in table order: task, scale, then the papers' setting order, then run name. */
export function sortRows(rows: CompareRow[]): CompareRow[] {
  const order = settingOrder();
  return [...rows].sort(
    (a, b) =>
      a.task.localeCompare(b.task) ||
      a.scale - b.scale ||
      order.indexOf(a.recipe) - order.indexOf(b.recipe) ||
      a.run.localeCompare(b.run),
  );
}

const cell = (v: number | undefined, digits: number): string => (v === undefined ? "–" : v.toFixed(digits));

/** The comparison as a Markdown table; the metric column is named after the task when all runs share one. */
export function markdownTable(rows: readonly CompareRow[]): string {
  const tasks = new Set(rows.map((r) => r.task));
  const single = tasks.size === 1 ? rows[0]! : undefined;
  const metricHead = single ? metricLabel(single.metric) : "task metric (%)";
  const head = ["run", "setting", "scale", metricHead, "PSNR sr4ir (dB)", "PSNR basicsr (dB)", "SSIM"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i < 3 ? "---" : "---:")).join("|")}|`];
  for (const r of rows) {
    const metric = single ? cell(r.value, 2) : `${r.metric} ${cell(r.value, 2)}`;
    lines.push(
      `| ${[r.run, r.setting, `x${r.scale}`, metric, cell(r.psnr_sr4ir, 2), cell(r.psnr_basicsr, 2), cell(r.ssim, 4)].join(" | ")} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: readonly number[]) =>
  v.length < 2 ? 0 : Math.sqrt(v.reduce((a, x) => a + (x - mean(v)) ** 2, 0) / (v.length - 1));

/**
 * Bars of `key` per setting (one group per scale when scales differ); runs sharing task, setting and scale are
 * averaged, with the sample std as error bar.
 */
export function settingBars(rows: readonly CompareRow[], key: "value" | "psnr_sr4ir"): BarDatum[] {
  const scales = new Set(rows.map((r) => r.scale));
  const groups = new Map<string, { label: string; group?: string; values: number[] }>();
  for (const r of rows) {
    const v = r[key];
    if (v === undefined) continue;
    const id = `${r.setting}\u0000${r.scale}`;
    const g = groups.get(id) ?? { label: r.setting, ...(scales.size > 1 ? { group: `x${r.scale}` } : {}), values: [] };
    g.values.push(v);
    groups.set(id, g);
  }
  return [...groups.values()].map((g) => ({
    label: g.label,
    value: mean(g.values),
    ...(g.values.length > 1 ? { error: std(g.values) } : {}),
    ...(g.group ? { group: g.group } : {}),
  }));
}

/** Named SVG charts: `metric_<task>`, `psnr` (when any run has an SR output) and `loss_<key>` per logged loss. */
export function compareCharts(rows: readonly CompareRow[], curves: Curves): Record<string, string> {
  const out: Record<string, string> = {};
  for (const task of new Set(rows.map((r) => r.task))) {
    const mine = rows.filter((r) => r.task === task);
    const bars = settingBars(mine, "value");
    const metric = primaryMetric(task);
    if (bars.length)
      out[`metric_${task}`] = barChart(bars, {
        title: `${task}: ${metric} by setting`,
        xLabel: "setting",
        yLabel: metricLabel(metric),
      });
  }
  const psnr = settingBars(rows, "psnr_sr4ir");
  if (psnr.length)
    out.psnr = barChart(psnr, { title: "PSNR (sr4ir protocol) by setting", xLabel: "setting", yLabel: "PSNR (dB)" });
  const keys = new Set([...curves.values()].flatMap((c) => c.flatMap((p) => Object.keys(p.values))));
  for (const key of keys) {
    const series: LineSeries[] = [];
    for (const [run, c] of curves) {
      const points = c.filter((p) => p.values[key] !== undefined).map((p) => [p.iter, p.values[key]!] as const);
      if (points.length) series.push({ name: run, points });
    }
    out[`loss_${key}`] = lineChart(series, {
      title: `training loss: ${key}`,
      xLabel: "iteration",
      yLabel: key,
      logY: series.some((s) => s.points.every(([, v]) => v > 0)),
    });
  }
  return out;
}

/** Reads every run folder (each must have finished: results.json). Run names must be unique. */
export function loadComparison(dirs: readonly string[]): { rows: CompareRow[]; curves: Curves } {
  if (dirs.length === 0) throw new TasksrError("E_CLI_ARG", "compare needs at least one run folder");
  const rows = sortRows(dirs.map(readRow));
  const seen = new Map<string, string>();
  for (const r of rows) {
    const other = seen.get(r.run);
    if (other !== undefined) throw new TasksrError("E_CLI_ARG", `runs ${other} and ${r.dir} are both named "${r.run}"`);
    seen.set(r.run, r.dir);
  }
  const curves: Curves = new Map(rows.map((r) => [r.run || basename(r.dir), readCurves(r.dir)]));
  return { rows, curves };
}
