// `tasksr compare` through the launcher on tiny runs trained in the test: table, JSON, charts.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { registerCompare } from "../../src/cli/commands/compare.js";
import { decodeImage } from "../../src/data/io/image.js";
import type { CompareRow } from "../../src/report/compare.js";
import { commandError, tasksr } from "../support/cli.js";
import { tinyConfig, trainTiny } from "../support/tiny_runs.js";

const TMP = mkdtempSync(join(tmpdir(), "tasksr-compare-"));
after(() => rmSync(TMP, { recursive: true, force: true }));
const runs: string[] = [];

before(() => {
  runs.push(
    trainTiny(TMP, tinyConfig("t_014_SR4IR", "sr4ir", 2)),
    trainTiny(TMP, tinyConfig("t_000_H2T", "hr2task", 2)),
  );
  // A second "seed" of H→T: the same run folder under another name with a different final top-1.
  const seed2 = join(TMP, "runs", "t_000_H2T_seed2");
  cpSync(runs[1]!, seed2, { recursive: true });
  const results = JSON.parse(readFileSync(join(seed2, "results.json"), "utf8")) as {
    name: string;
    final: { top1: number };
  };
  results.name = "t_000_H2T_seed2";
  results.final.top1 += 12.5;
  writeFileSync(join(seed2, "results.json"), JSON.stringify(results));
  runs.push(seed2);
});

const final = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as { final: Record<string, number> }).final;

test("compare: Markdown table in the papers' setting order with each run's final numbers; JSON; SVG + PNG charts", async () => {
  const out = join(TMP, "cmp");
  const r = tasksr("compare", ...runs, "--out", out);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n").filter((l) => l.startsWith("|"));
  assert.equal(lines[0], "| run | setting | scale | top-1 (%) | PSNR sr4ir (dB) | PSNR basicsr (dB) | SSIM |");
  assert.deepEqual(
    lines.slice(2).map((l) => l.split("|")[1]!.trim()),
    ["t_000_H2T", "t_000_H2T_seed2", "t_014_SR4IR"],
  );
  const sr4ir = final(runs[0]!);
  assert.equal(
    lines[4],
    `| t_014_SR4IR | SR4IR | x4 | ${sr4ir.top1!.toFixed(2)} | ${sr4ir.psnr_sr4ir!.toFixed(2)} | ${sr4ir.psnr_basicsr!.toFixed(2)} | ${sr4ir.ssim!.toFixed(4)} |`,
  );
  assert.match(lines[2]!, /^\| t_000_H2T \| H→T \| x4 \| \d+\.\d\d \| – \| – \| – \|$/);
  assert.equal(readFileSync(join(out, "compare.md"), "utf8"), `${lines.join("\n")}\n`);
  const json = JSON.parse(readFileSync(join(out, "compare.json"), "utf8")) as { runs: CompareRow[] };
  assert.deepEqual(
    json.runs.map((x) => [x.run, x.setting, x.metric, x.value]),
    [
      ["t_000_H2T", "H→T", "top1", final(runs[1]!).top1],
      ["t_000_H2T_seed2", "H→T", "top1", final(runs[2]!).top1],
      ["t_014_SR4IR", "SR4IR", "top1", sr4ir.top1],
    ],
  );
  // Bars: H→T is the mean of its two seeds with an error bar; the SR4IR bar has none.
  const bar = readFileSync(join(out, "metric_classification.svg"), "utf8");
  const h2t = (final(runs[1]!).top1! + final(runs[2]!).top1!) / 2;
  assert.ok(bar.includes(`H→T: ${h2t}`) && bar.includes(`SR4IR: ${sr4ir.top1}`), "bar values");
  assert.equal((bar.match(/<path d="M/g) ?? []).length, 1, "one error bar: the std of the two H→T runs");
  // Loss curves: each logged loss, one series per run that logged it, two iterations each.
  const loss = readFileSync(join(out, "loss_task.svg"), "utf8");
  assert.ok(loss.includes("t_000_H2T") && loss.includes("t_000_H2T_seed2") && !loss.includes("t_014_SR4IR"));
  assert.ok(readFileSync(join(out, "loss_pix.svg"), "utf8").includes("t_014_SR4IR"));
  for (const name of ["metric_classification", "psnr", "loss_task", "loss_pix"]) {
    const png = await decodeImage(readFileSync(join(out, `${name}.png`)), name);
    assert.deepEqual([png.width, png.height], [640, 400], name);
  }
  const asJson = tasksr("compare", runs[0]!, "--out", join(TMP, "cmp2"), "--json");
  assert.equal(asJson.status, 0, asJson.stderr);
  assert.equal((JSON.parse(asJson.stdout) as { runs: CompareRow[] }).runs[0]!.psnr_sr4ir, sr4ir.psnr_sr4ir);
});

test("compare: unfinished or duplicate runs are clear errors", async () => {
  const unfinished = join(TMP, "unfinished");
  cpSync(runs[1]!, unfinished, { recursive: true });
  rmSync(join(unfinished, "results.json"));
  const e1 = await commandError(registerCompare, ["compare", runs[0]!, unfinished, "--out", join(TMP, "cmp3")]);
  assert.match(e1.message, /unfinished has no results\.json \(the run did not finish\)/);
  const copy = join(TMP, "copy");
  cpSync(runs[1]!, copy, { recursive: true });
  const e2 = await commandError(registerCompare, ["compare", runs[1]!, copy, "--out", join(TMP, "cmp4")]);
  assert.match(e2.message, /runs .* and .*copy are both named "t_000_H2T"/);
});
