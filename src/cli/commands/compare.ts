/**
 * `tasksr compare <run dirs...> [--out dir] [--json]`: one table of the runs (task metric, PSNR under both
 * protocols, SSIM per setting) printed as Markdown (or JSON), and written with charts as compare.md, compare.json
 * and SVG + PNG plots (metric and PSNR by setting, training losses by iteration).
 */
import type { Command } from "commander";

export function registerCompare(program: Command): void {
  program
    .command("compare")
    .description("compare finished runs: Markdown/JSON table and plots (metric vs setting, training curves)")
    .argument("<runs...>", "run folders (each with results.json and metrics.jsonl)")
    .option("--out <dir>", "folder for compare.md, compare.json and the plots", "compare")
    .option("--json", "print the table as JSON instead of Markdown")
    .action(async (runs: string[], o: { out: string; json?: boolean }) => {
      const { mkdir, writeFile } = await import("node:fs/promises");
      const { join } = await import("node:path");
      const { loadComparison, markdownTable, compareCharts } = await import("../../report/compare.js");
      const { svgToPng } = await import("../../report/chart.js");
      const { rows, curves } = loadComparison(runs);
      const md = markdownTable(rows);
      const json = `${JSON.stringify({ runs: rows }, null, 2)}\n`;
      await mkdir(o.out, { recursive: true });
      await writeFile(join(o.out, "compare.md"), md);
      await writeFile(join(o.out, "compare.json"), json);
      const charts = compareCharts(rows, curves);
      for (const [name, svg] of Object.entries(charts)) {
        await writeFile(join(o.out, `${name}.svg`), svg);
        await writeFile(join(o.out, `${name}.png`), await svgToPng(svg));
      }
      if (o.json) console.log(JSON.stringify({ runs: rows }));
      else {
        console.log(md);
        console.log(`wrote compare.md, compare.json and ${Object.keys(charts).length} charts (SVG + PNG) to ${o.out}`);
      }
    });
}
