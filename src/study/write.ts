/** Writes a study's report into its folder: report.json, report.md, the image grid and the metric chart. */
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../fs/atomic.js";
import { writeStudyChart, writeStudyGrid } from "./figures.js";
import { seedDir } from "./plan.js";
import { buildReport, reportMarkdown, type StudyReport } from "./report.js";
import type { StudyResult } from "./run.js";

export interface WrittenReport {
  report: StudyReport;
  markdown: string;
  files: string[];
}

export async function writeStudyReport(
  r: StudyResult,
  o: { command?: string; intro?: string; extra?: string } = {},
): Promise<WrittenReport> {
  const report = buildReport(r);
  const files = [join(r.dir, "report.json"), join(r.dir, "report.md")];
  const pictures: string[] = [];
  const seed = r.study.seeds[0]!;
  const grid = await writeStudyGrid(
    seedDir(dirname(r.dir), r.study.name, seed),
    join(r.dir, "grid.png"),
    `${r.study.name}, seed ${seed}: the H→T network's output on each input (✗: wrong)`,
  );
  if (grid !== undefined) {
    files.push(grid);
    pictures.push("![image grid](grid.png)");
  }
  files.push(...(await writeStudyChart(report, join(r.dir, "chart"))));
  pictures.push("![headline metric per setting](chart.png)");
  const extra = [pictures.join("\n\n"), o.extra].filter((x) => x !== undefined).join("\n\n");
  const markdown = reportMarkdown(report, { command: o.command, intro: o.intro, extra });
  writeFileAtomic(files[0]!, `${JSON.stringify(report, null, 2)}\n`);
  writeFileAtomic(files[1]!, markdown);
  return { report, markdown, files };
}
