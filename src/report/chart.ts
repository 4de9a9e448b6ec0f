/**
 * Small hand-written SVG charts for reports: a bar chart (values with labels, optional error bars such as the std
 * over seeds, optional groups side by side) and a line chart (training curves). Both return an SVG string that
 * browsers show as is and `svgToPng` rasterises with sharp.
 */
import sharp from "sharp";
import { TasksrError } from "../errors.js";
import { CATEGORY_COLOURS, escapeXml, type Rgb, textWidth } from "./draw.js";

const FONT = "DejaVu Sans, Verdana, sans-serif";
const hex = (c: Rgb): string => `#${c.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
const seriesColour = (i: number): string => hex(CATEGORY_COLOURS[i % CATEGORY_COLOURS.length]!);

/** Tick values from at or below `lo` to at or above `hi`, with a 1/2/5 x 10^k step, about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  for (let k = first; k <= last; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

const fmtTick = (v: number): string =>
  v === 0 ? "0" : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(6)));

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Title, axis labels, the y axis with grid lines and tick labels; returns the SVG pieces. */
function axes(
  f: Frame,
  yTicks: number[],
  y: (v: number) => number,
  o: { title?: string; xLabel?: string; yLabel?: string },
  tickLabel: (v: number) => string = fmtTick,
): string[] {
  const out: string[] = [];
  if (o.title) {
    out.push(
      `<text x="${f.width / 2}" y="22" font-size="16" font-weight="bold" text-anchor="middle">${escapeXml(o.title)}</text>`,
    );
  }
  for (const t of yTicks) {
    const py = y(t).toFixed(1);
    out.push(`<line x1="${f.left}" x2="${f.width - f.right}" y1="${py}" y2="${py}" stroke="#dddddd"/>`);
    out.push(
      `<text x="${f.left - 6}" y="${py}" font-size="11" text-anchor="end" dominant-baseline="middle">${tickLabel(t)}</text>`,
    );
  }
  out.push(`<line x1="${f.left}" x2="${f.left}" y1="${f.top}" y2="${f.height - f.bottom}" stroke="#333333"/>`);
  out.push(
    `<line x1="${f.left}" x2="${f.width - f.right}" y1="${f.height - f.bottom}" y2="${f.height - f.bottom}" stroke="#333333"/>`,
  );
  if (o.yLabel) {
    const cy = (f.top + f.height - f.bottom) / 2;
    out.push(
      `<text x="16" y="${cy}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${cy})">${escapeXml(o.yLabel)}</text>`,
    );
  }
  if (o.xLabel) {
    out.push(
      `<text x="${(f.left + f.width - f.right) / 2}" y="${f.height - 8}" font-size="12" text-anchor="middle">${escapeXml(o.xLabel)}</text>`,
    );
  }
  return out;
}

/** Width the legend of `names` needs right of the plot (swatch, gap, longest name, margins). */
const legendWidth = (names: readonly string[]): number => 34 + Math.max(...names.map((n) => textWidth(n, 11)));

function legend(names: readonly string[], x: number, y: number): string[] {
  return names.flatMap((name, i) => [
    `<rect x="${x}" y="${y + i * 16}" width="10" height="10" fill="${seriesColour(i)}"/>`,
    `<text x="${x + 14}" y="${y + i * 16 + 9}" font-size="11">${escapeXml(name)}</text>`,
  ]);
}

const svg = (width: number, height: number, body: string[]): string =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">` +
  `<rect width="${width}" height="${height}" fill="#ffffff"/>${body.join("")}</svg>`;

/** One bar: a category label, its value and optionally an error (± half-length, e.g. the std over seeds). */
export interface BarDatum {
  label: string;
  value: number;
  error?: number;
  /** Series name: bars of different groups with the same label stand side by side, with a legend. */
  group?: string;
}

export interface BarChartOptions {
  title?: string;
  /** Axis titles, e.g. "setting" and "top-1 (%)". */
  xLabel?: string;
  yLabel?: string;
  /** Pixels (default 640 x 400). */
  width?: number;
  height?: number;
  /** Lower end of the y axis (default 0, or the smallest value minus its error when that is negative). */
  yMin?: number;
  /** Value label printed above each bar (default: 3 significant digits; null for none). */
  format?: ((v: number, d: BarDatum) => string) | null;
}

/**
 * A bar chart of `data` in category order (first appearance), grouped by `group` when given. Error bars span
 * value ± error. Returns an SVG string.
 *
 * @example barChart([{ label: "S→T", value: 52.3, error: 0.4 }, { label: "SR4IR", value: 55.0, error: 0.3 }],
 *   { title: "VOC seg x8", yLabel: "mIoU (%)" })
 */
export function barChart(data: readonly BarDatum[], o: BarChartOptions = {}): string {
  if (data.length === 0) throw new TasksrError("E_TENSOR_ARG", "barChart: no data");
  for (const d of data) {
    if (!Number.isFinite(d.value) || (d.error !== undefined && !(d.error >= 0))) {
      throw new TasksrError("E_TENSOR_ARG", `barChart: bar "${d.label}" has value ${d.value} and error ${d.error}`);
    }
  }
  const labels = [...new Set(data.map((d) => d.label))];
  const groups = [...new Set(data.map((d) => d.group ?? ""))];
  const width = o.width ?? 640;
  const height = o.height ?? 400;
  const band0 = (width - 80) / labels.length;
  const rotate = labels.some((l) => textWidth(l, 11) > band0 - 4);
  const longest = Math.max(...labels.map((l) => textWidth(l, 11)));
  const f: Frame = {
    width,
    height,
    left: 64,
    right: groups.length > 1 ? legendWidth(groups) : 16,
    top: o.title ? 40 : 16,
    bottom: (rotate ? Math.min(160, longest * 0.72 + 16) : 28) + (o.xLabel ? 22 : 0),
  };
  const lo = Math.min(0, ...data.map((d) => d.value - (d.error ?? 0)));
  const hi = Math.max(0, ...data.map((d) => d.value + (d.error ?? 0)));
  const ticks = niceTicks(o.yMin ?? lo, hi === (o.yMin ?? lo) ? hi + 1 : hi);
  const y0 = Math.min(o.yMin ?? lo, ticks[0]!);
  const y1 = Math.max(hi, ticks.at(-1)!);
  const plotH = height - f.top - f.bottom;
  const y = (v: number) => f.top + plotH * (1 - (v - y0) / (y1 - y0 || 1));
  const band = (width - f.left - f.right) / labels.length;
  const barW = (band * 0.75) / groups.length;
  const body = axes(f, ticks, y, o);
  const fmt = o.format === undefined ? (v: number) => String(Number(v.toPrecision(3))) : o.format;
  for (const d of data) {
    const li = labels.indexOf(d.label);
    const gi = groups.indexOf(d.group ?? "");
    const x = f.left + li * band + band * 0.125 + gi * barW;
    const top = y(Math.max(d.value, 0));
    const h = Math.abs(y(d.value) - y(0));
    body.push(
      `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${seriesColour(gi)}"><title>${escapeXml(`${d.label}${d.group ? ` (${d.group})` : ""}: ${d.value}`)}</title></rect>`,
    );
    const cx = x + barW / 2;
    if (d.error !== undefined && d.error > 0) {
      const [ea, eb] = [y(d.value - d.error), y(d.value + d.error)];
      body.push(
        `<path d="M${cx} ${ea.toFixed(1)}V${eb.toFixed(1)}M${cx - 4} ${ea.toFixed(1)}h8M${cx - 4} ${eb.toFixed(1)}h8" stroke="#222222" fill="none"/>`,
      );
    }
    if (fmt) {
      const vy = y(d.value + (d.value >= 0 ? (d.error ?? 0) : 0)) - 4;
      body.push(
        `<text x="${cx}" y="${vy.toFixed(1)}" font-size="10" text-anchor="middle">${escapeXml(fmt(d.value, d))}</text>`,
      );
    }
  }
  const base = height - f.bottom + 14;
  for (const [i, l] of labels.entries()) {
    const cx = f.left + (i + 0.5) * band;
    body.push(
      rotate
        ? `<text x="${cx}" y="${base}" font-size="11" text-anchor="end" transform="rotate(-40 ${cx} ${base})">${escapeXml(l)}</text>`
        : `<text x="${cx}" y="${base}" font-size="11" text-anchor="middle">${escapeXml(l)}</text>`,
    );
  }
  if (groups.length > 1) body.push(...legend(groups, width - f.right + 10, f.top));
  return svg(width, height, body);
}

/** One line: a name for the legend and its (x, y) points in x order. */
export interface LineSeries {
  name: string;
  points: readonly (readonly [number, number])[];
}

export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Logarithmic y axis (losses spanning decades); non-positive values are dropped. */
  logY?: boolean;
}

/** A line chart of `series` on shared axes, with a legend. Returns an SVG string. */
export function lineChart(series: readonly LineSeries[], o: LineChartOptions = {}): string {
  const usable = series.map((s) => ({
    name: s.name,
    points: s.points.filter(([x, v]) => Number.isFinite(x) && Number.isFinite(v) && (!o.logY || v > 0)),
  }));
  const all = usable.flatMap((s) => s.points);
  if (all.length === 0) throw new TasksrError("E_TENSOR_ARG", "lineChart: no finite points");
  const width = o.width ?? 640;
  const height = o.height ?? 400;
  const legendW = Math.min(220, legendWidth(usable.map((s) => s.name)));
  const f: Frame = { width, height, left: 64, right: legendW, top: o.title ? 40 : 16, bottom: o.xLabel ? 50 : 30 };
  const tx = (v: number) => (o.logY ? Math.log10(v) : v);
  const xs = all.map(([x]) => x);
  const vs = all.map(([, v]) => tx(v));
  const [xa, xb] = [Math.min(...xs), Math.max(...xs)];
  let [ya, yb] = [Math.min(...vs), Math.max(...vs)];
  if (ya === yb) [ya, yb] = [ya - 1, yb + 1];
  // A log axis spanning a decade or more gets one tick per power of ten.
  const decades = o.logY && yb - ya >= 1;
  const yTicks = decades
    ? Array.from({ length: Math.ceil(yb) - Math.floor(ya) + 1 }, (_, k) => Math.floor(ya) + k)
    : niceTicks(ya, yb);
  const [y0, y1] = [Math.min(ya, yTicks[0]!), Math.max(yb, yTicks.at(-1)!)];
  const plotW = width - f.left - f.right;
  const plotH = height - f.top - f.bottom;
  const px = (x: number) => f.left + plotW * (xb === xa ? 0.5 : (x - xa) / (xb - xa));
  const py = (v: number) => f.top + plotH * (1 - (v - y0) / (y1 - y0));
  // On a log axis the ticks are exponents t, labelled 10^t.
  const body = axes(f, yTicks, py, o, o.logY ? (t) => fmtTick(10 ** t) : fmtTick);
  for (const t of niceTicks(xa, xb)) {
    if (t < xa || t > xb) continue;
    body.push(
      `<text x="${px(t).toFixed(1)}" y="${height - f.bottom + 16}" font-size="11" text-anchor="middle">${fmtTick(t)}</text>`,
    );
  }
  for (const [i, s] of usable.entries()) {
    if (s.points.length === 0) continue;
    const d = s.points.map(([x, v], k) => `${k ? "L" : "M"}${px(x).toFixed(1)} ${py(tx(v)).toFixed(1)}`).join("");
    body.push(
      `<path d="${d}" fill="none" stroke="${seriesColour(i)}" stroke-width="1.5"><title>${escapeXml(s.name)}</title></path>`,
    );
    if (s.points.length === 1) {
      const [x, v] = s.points[0]!;
      body.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(tx(v)).toFixed(1)}" r="3" fill="${seriesColour(i)}"/>`);
    }
  }
  body.push(
    ...legend(
      usable.map((s) => s.name),
      width - f.right + 10,
      f.top,
    ),
  );
  return svg(width, height, body);
}

/** Rasterises an SVG string to PNG bytes (sharp / librsvg). */
export async function svgToPng(svgText: string): Promise<Buffer> {
  return sharp(Buffer.from(svgText)).png().toBuffer();
}
