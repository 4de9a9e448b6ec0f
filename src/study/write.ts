/** Writes a study's report files into its folder: report.json and report.md. */
import { join } from "node:path";
import { writeFileAtomic } from "../engine/safetensors.js";
import { buildReport, reportMarkdown, type StudyReport } from "./report.js";
import type { StudyResult } from "./run.js";

export interface WrittenReport {
  report: StudyReport;
  markdown: string;
  files: string[];
}

export async function writeStudyReport(
  r: StudyResult,
  o: { command?: string; extra?: string } = {},
): Promise<WrittenReport> {
  const report = buildReport(r);
  const markdown = reportMarkdown(report, o);
  const files = [join(r.dir, "report.json"), join(r.dir, "report.md")];
  writeFileAtomic(files[0]!, `${JSON.stringify(report, null, 2)}\n`);
  writeFileAtomic(files[1]!, markdown);
  return { report, markdown, files };
}
