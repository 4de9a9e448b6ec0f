// `tasksr demo --quick` end to end through the launcher, as CI runs it: the synthetic dataset is generated, every
// setting trains, and the report (tables, JSON, grid, chart) holds the numbers the runs measured.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { registerDemo } from "../../src/cli/commands/demo.js";
import { readImage } from "../../src/data/io/image.js";
import type { StudyReport } from "../../src/study/report.js";
import { readResults } from "../../src/train/run.js";
import { commandError, tasksr } from "../support/cli.js";

const TMP = mkdtempSync(join(tmpdir(), "tasksr-demo-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

test("tasksr demo --quick: six settings trained, both views reported from the runs' own numbers", async () => {
  const out = join(TMP, "runs");
  const r = tasksr("demo", "--quick", "--device", "cpu", "--out", out, "--cache", join(TMP, "cache"));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /dataset generated at /);
  assert.match(
    r.stdout,
    /\[seed 0 \| SR4IR 6\/6\] \[epoch 3\/3\] it \d+\/\d+ {2}pix /,
    "progress lines while training",
  );
  const dir = join(out, "demo");
  for (const f of ["report.md", "report.json", "grid.png", "chart.png", "chart.svg"]) {
    assert.ok(existsSync(join(dir, f)), f);
  }
  const rep = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as StudyReport;
  assert.deepEqual(
    rep.sr4irView.map((x) => x.label),
    ["H→T", "L→T", "SR-FT", "S→T", "T→S", "SR4IR"],
  );
  assert.deepEqual(
    rep.tdsrView.map((x) => x.label),
    ["HR", "bicubic", "bilinear", "SR-FT", "T→S", "SR4IR"],
  );
  // Every SR4IR-view number is the run's own final evaluation; the TDSR view's HR row is H→T's.
  for (const row of rep.sr4irView) {
    const final = readResults(join(dir, "seed-0", row.id)).final;
    for (const [k, s] of Object.entries(row.metrics)) assert.equal(s.mean, final[k], `${row.label} ${k}`);
  }
  assert.equal(rep.tdsrView[0]!.metrics.top1!.mean, rep.sr4irView[0]!.metrics.top1!.mean);
  // The classifier trained on HR sees what LR loses: far better on HR than on bicubic LR.
  assert.ok(rep.tdsrView[0]!.metrics.top1!.mean > rep.tdsrView[1]!.metrics.top1!.mean + 20);
  const md = readFileSync(join(dir, "report.md"), "utf8");
  assert.ok(
    r.stdout.includes(
      md
        .trim()
        .split("\n")
        .find((l) => l.startsWith("| SR4IR |"))!,
    ),
    "printed table",
  );
  const grid = await readImage(join(dir, "grid.png"));
  assert.ok(grid.width > 6 * 128 && grid.height > 6 * 128, `grid ${grid.width}x${grid.height}`);
});

test("tasksr demo: bad arguments are one clear error each", async () => {
  for (const [args, re] of [
    [["--task", "depth"], /--task must be one of classification, segmentation, detection/],
    [["--scale", "3"], /--scale must be 2, 4 or 8/],
    [["--seeds", "0"], /--seeds must be a positive integer/],
  ] as const) {
    const e = await commandError(registerDemo, ["demo", ...args]);
    assert.equal(e.code, "E_CLI_ARG");
    assert.match(e.message, re);
  }
});

test("tasksr web --no-serve: the demo's bicubic, SR-FT and T→S columns and H→T's task network as ONNX", () => {
  const study = join(TMP, "runs", "demo");
  const r = tasksr("web", "--study", study, "--no-serve");
  assert.equal(r.status, 0, r.stderr);
  const manifest = JSON.parse(readFileSync(join(study, "web", "manifest.json"), "utf8")) as {
    columns: { name: string; url: string }[];
    taskModel: string;
    samples: { url: string }[];
    classes: string[];
  };
  assert.deepEqual(
    manifest.columns.map((c) => c.name),
    ["bicubic", "plain", "task-driven"],
  );
  for (const url of [
    ...manifest.columns.map((c) => c.url),
    manifest.taskModel,
    ...manifest.samples.map((s) => s.url),
  ]) {
    assert.ok(existsSync(join(study, "web", url.replace(/^data\//, ""))), url);
  }
  assert.equal(manifest.classes.length, 10);
  assert.match(r.stdout, /onnxruntime vs engine \d/);
  const missing = tasksr("web", "--study", join(TMP, "nothing"), "--no-serve");
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /no finished demo there/);
});
