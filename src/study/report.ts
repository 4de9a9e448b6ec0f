import { metricLabel, primaryMetric, settingLabel } from "../report/settings.js";
import type { StudyResult } from "./run.js";
import type { Setting } from "./schema.js";

/** Columns of both tables after the headline metric; LPIPS only when some run reports it (eval.lpips). */
const QUALITY = ["psnr_sr4ir", "psnr_basicsr", "ssim"] as const;
const qualityColumns = (rows: readonly ReportRow[]): string[] => [
  ...QUALITY,
  ...(rows.some((r) => r.metrics.lpips !== undefined) ? ["lpips"] : []),
];

export interface Stat {
  mean: number;
  std: number;
  values: number[];
}

export interface ReportRow {
  /** Setting id (SR4IR view) or input name (TDSR view). */
  id: string;
  label: string;
  metrics: Record<string, Stat>;
  /** Mean training wall time in seconds (SR4IR view). */
  seconds?: number;
}

export interface StudyReport {
  name: string;
  task: string;
  scale: number;
  primary: string;
  seeds: number[];
  sr4irView: ReportRow[];
  tdsrView: ReportRow[];
  /** Training wall time summed over every run of the study (runs reused from earlier invocations included). */
  trainSeconds: number;
  /** Wall time of the invocation that wrote the report. */
  seconds: number;
}

export function stat(values: readonly number[]): Stat {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, values: [...values] };
}

/** Per metric key, the statistics over the given flat metric records (keys present in every record). */
function aggregate(records: readonly Record<string, number>[]): Record<string, Stat> {
  const keys = Object.keys(records[0] ?? {}).filter((k) => records.every((r) => k in r));
  return Object.fromEntries(keys.map((k) => [k, stat(records.map((r) => r[k]!))]));
}

export function buildReport(r: StudyResult): StudyReport {
  const first = r.runs[0];
  if (first === undefined) throw new Error("a study report needs at least one run");
  const task = first.cfg.task;
  const sr4irView = r.study.settings.map((setting: Setting) => {
    const runs = r.runs.filter((x) => x.setting === setting);
    return {
      id: setting,
      label: settingLabel(setting),
      metrics: aggregate(runs.map((x) => x.results.final)),
      seconds: runs.reduce((a, x) => a + x.results.seconds, 0) / runs.length,
    };
  });
  const names = r.tdsr[0]?.rows.map((row) => row.name) ?? [];
  const tdsrView = names.map((name) => ({
    id: name,
    label: name,
    metrics: aggregate(r.tdsr.map((s) => s.rows.find((row) => row.name === name)?.metrics ?? {})),
  }));
  return {
    name: r.study.name,
    task,
    scale: first.cfg.scale,
    primary: primaryMetric(task),
    seeds: r.study.seeds,
    sr4irView,
    tdsrView,
    trainSeconds: r.runs.reduce((a, x) => a + x.results.seconds, 0),
    seconds: r.seconds,
  };
}

const fmt = (s: Stat | undefined, digits: number, seeds: number): string =>
  s === undefined ? "–" : seeds > 1 ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : s.mean.toFixed(digits);

function table(rows: readonly ReportRow[], primary: string, seeds: number, withTime: boolean): string {
  const quality = qualityColumns(rows);
  const head = [primary, ...quality].map((k) => metricLabel(k));
  const lines = [
    `| setting | ${head.join(" | ")}${withTime ? " | train time (s) |" : " |"}`,
    `|---|${head.map(() => "---:").join("|")}|${withTime ? "---:|" : ""}`,
  ];
  for (const row of rows) {
    const cells = [
      fmt(row.metrics[primary], 2, seeds),
      ...quality.map((k) => fmt(row.metrics[k], k === "ssim" || k === "lpips" ? 4 : 2, seeds)),
    ];
    const time = withTime ? ` ${row.seconds?.toFixed(0) ?? "–"} |` : "";
    lines.push(`| ${row.label} | ${cells.join(" | ")} |${time}`);
  }
  return lines.join("\n");
}

/** The SR4IR-view table alone (what the CLI prints at the end). */
export const sr4irTable = (rep: StudyReport): string => table(rep.sr4irView, rep.primary, rep.seeds.length, true);

/** The TDSR-view table alone. */
export const tdsrTable = (rep: StudyReport): string => table(rep.tdsrView, rep.primary, rep.seeds.length, false);

/** `intro` follows the first line; `extra` (pictures, notes) closes the report. */
export function reportMarkdown(rep: StudyReport, o: { command?: string; intro?: string; extra?: string } = {}): string {
  const seeds = rep.seeds.length > 1 ? `mean ± std over seeds ${rep.seeds.join(", ")}` : `seed ${rep.seeds[0]}`;
  const parts = [
    `# ${rep.name}: ${rep.task} at x${rep.scale}`,
    "",
    `Measured by this study (${seeds}); training time ${rep.trainSeconds.toFixed(0)} s summed over its runs.` +
      (o.command ? ` Command: \`${o.command}\`.` : "") +
      (o.intro ? ` ${o.intro}` : ""),
    "",
    "## SR4IR view: each setting's own networks on its own test input",
    "",
    `H→T sees HR, L→T bilinear-upsampled LR, every other setting the output of its SR network; SR-FT is judged ` +
      "through the H→T task network. `–`: the setting produces no SR image.",
    "",
    sr4irTable(rep),
  ];
  if (rep.tdsrView.length) {
    parts.push(
      "",
      "## TDSR view: one frozen H→T task network on every input",
      "",
      "The task network trained on HR judges HR, interpolated LR and each SR network's output (TDSR Table 1).",
      "",
      tdsrTable(rep),
    );
  }
  if (o.extra) parts.push("", o.extra);
  return `${parts.join("\n")}\n`;
}
