import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { deepMerge } from "../../src/config/load.js";
import { memory } from "../../src/engine/system.js";
import { TasksrError } from "../../src/errors.js";
import { loadStudy, validateStudy } from "../../src/study/load.js";
import { planStudy } from "../../src/study/plan.js";
import { buildReport, reportMarkdown } from "../../src/study/report.js";
import { runStudy } from "../../src/study/run.js";
import { pattern, putImage, tempDir } from "../support/data_trees.js";

const base = (root: string) => ({
  task: "classification",
  scale: 4,
  device: "cpu",
  data: {
    train: { type: "image-folder", root: join(root, "train") },
    val: { type: "image-folder", root: join(root, "val") },
    transforms: { resize: 24, crop: 24 },
    prefetch: 0,
  },
  sr: { arch: "edsr-tiny" },
  taskNet: { arch: "resnet-tiny" },
  optim: { sr: { type: "adamw", lr: 1e-3 }, task: { type: "sgd", lr: 0.05 } },
  train: { epochs: 1, batchSize: 4, logEvery: 100 },
  eval: { batchSize: 4 },
});

const configError = (re: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === "E_CONFIG" && re.test(e.message);

test("deepMerge merges objects key by key, removes keys set to undefined and replaces everything else", () => {
  assert.deepEqual(deepMerge({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2] }, e: 2, d: undefined }), {
    a: { b: 1, c: [2] },
    e: 2,
  });
});

test("the plan links settings: S→T takes SR-FT's SR, T→S and SR-FT take H→T's task net; per-seed folders", () => {
  const study = validateStudy(
    {
      name: "s",
      base: base("/data"),
      seeds: [3, 4],
      recipes: { task2sr: { stages: "1ep:1:0+1ep:1:0.1" }, sr4ir: { tdp: { taps: { l4: 1 } }, cqmix: { grid: 4 } } },
      overrides: { sr4ir: { train: { epochs: 5 }, sr: { options: { residual: true } } } },
    },
    "study.yaml",
  );
  const plan = planStudy(study, { out: "/runs", where: "study.yaml" });
  assert.equal(plan.length, 14);
  const get = (seed: number, s: string) => plan.find((p) => p.seed === seed && p.setting === s)!;
  assert.equal(get(4, "sr2task").cfg.sr?.weights, "/runs/s/seed-4/sr-ft/sr.safetensors");
  assert.equal(get(4, "task2sr").cfg.taskNet.weights, "/runs/s/seed-4/hr2task/task.safetensors");
  assert.equal(get(3, "sr-ft").cfg.taskNet.weights, "/runs/s/seed-3/hr2task/task.safetensors");
  assert.equal(get(3, "hr2task").cfg.sr, undefined, "H→T has no SR block");
  assert.equal(get(3, "hr2task").cfg.optim.sr, undefined);
  assert.equal(get(3, "sr-ft").cfg.optim.task, undefined);
  assert.equal(get(3, "sr4ir").cfg.train.epochs, 5);
  assert.deepEqual(get(3, "sr4ir").cfg.sr?.options, { residual: true }, "an override of a block the plan keeps");
  assert.deepEqual(get(3, "joint").cfg.sr?.options, {});
  assert.equal(get(3, "joint").cfg.train.epochs, 1);
  assert.equal(get(4, "sr4ir").cfg.train.seed, 4);
  assert.equal(get(3, "sr4ir").dir, "/runs/s/seed-3/sr4ir");
});

test("study errors name the file and the field", () => {
  const b = base("/data");
  assert.throws(
    () => validateStudy({ name: "s", base: b, settings: ["h2t"] }, "f.yaml"),
    configError(/f\.yaml: settings\.0/),
  );
  assert.throws(() => validateStudy({ name: "s", base: b, seed: [1] }, "f.yaml"), configError(/f\.yaml: .*seed/));
  const only = (settings: string[]) => validateStudy({ name: "s", base: b, settings }, "f.yaml");
  assert.throws(() => planStudy(only(["sr2task"]), { out: "/r", where: "f.yaml" }), configError(/sr2task needs sr-ft/));
  assert.throws(
    () => planStudy(validateStudy({ name: "s", base: { ...b, name: "x" } }, "f.yaml"), { out: "/r", where: "f.yaml" }),
    configError(/base\.name/),
  );
  const bad = validateStudy({ name: "s", base: { ...b, train: { epochs: 0, batchSize: 4 } } }, "f.yaml");
  assert.throws(
    () => planStudy(bad, { out: "/r", where: "f.yaml" }),
    configError(/setting hr2task, seed 0.*train\.epochs/s),
  );
  const p = join(tempDir("study"), "s.yaml");
  writeFileSync(p, "name: s\nbase: {}\nsettings: [hr2task]\n");
  assert.throws(() => loadStudy(p, ["seeds=[-1]"]), configError(/seeds\.0/));
});

test("a study trains its settings once, reuses finished runs, refuses a changed config and reports both views", async () => {
  const root = tempDir("study-data");
  for (const split of ["train", "val"]) {
    for (const [c, cls] of ["a", "b"].entries()) {
      for (let i = 0; i < 4; i++) await putImage(join(root, split, cls, `${i}.png`), pattern(24, 24, 10 * c + i));
    }
  }
  const out = tempDir("study-runs");
  const study = validateStudy(
    { name: "tiny", base: base(root), settings: ["hr2task", "sr-ft", "sr2task"], seeds: [0, 1] },
    "tiny.yaml",
  );
  const lines: string[] = [];
  const live = memory().liveTensors;
  const first = await runStudy(study, { out, where: "tiny.yaml", log: (l) => lines.push(l) });
  assert.equal(memory().liveTensors, live, "no tensor outlives the study");
  assert.equal(first.stopped, false);
  assert.deepEqual(
    first.runs.map((r) => [r.seed, r.setting, r.trained]),
    [
      [0, "hr2task", true],
      [0, "sr-ft", true],
      [0, "sr2task", true],
      [1, "hr2task", true],
      [1, "sr-ft", true],
      [1, "sr2task", true],
    ],
  );
  assert.ok(lines.some((l) => l.startsWith("[seed 1 | S→T 6/6]")));
  assert.deepEqual(
    first.tdsr[0]!.rows.map((r) => r.name),
    ["HR", "bicubic", "bilinear", "SR-FT"],
  );
  // The HR row of the TDSR view is the H→T run's own evaluation: same network, same images.
  const h2t = first.runs.find((r) => r.seed === 0 && r.setting === "hr2task")!;
  assert.equal(first.tdsr[0]!.rows[0]!.metrics.top1, h2t.results.final.top1);

  const again = await runStudy(study, { out, where: "tiny.yaml", log: () => {} });
  assert.ok(
    again.runs.every((r) => !r.trained),
    "finished runs with the same config are reused",
  );

  const rep = buildReport(again);
  assert.equal(rep.primary, "top1");
  assert.deepEqual(
    rep.sr4irView.map((r) => r.label),
    ["H→T", "SR-FT", "S→T"],
  );
  const s2t = rep.sr4irView[2]!.metrics;
  assert.deepEqual(
    s2t.top1!.values,
    again.runs.filter((r) => r.setting === "sr2task").map((r) => r.results.final.top1),
  );
  assert.ok(s2t.psnr_sr4ir!.mean > 0 && s2t.ssim!.mean > 0);
  const md = reportMarkdown(rep);
  assert.match(md, /\| S→T \| \d+\.\d\d ± \d+\.\d\d \|/);
  assert.match(md, /TDSR view/);

  const changed = validateStudy(
    { name: "tiny", base: { ...base(root), train: { epochs: 1, batchSize: 2 } }, settings: ["hr2task"] },
    "tiny.yaml",
  );
  await assert.rejects(runStudy(changed, { out, where: "tiny.yaml", log: () => {} }), configError(/--fresh/));
  const fresh = await runStudy(changed, { out, where: "tiny.yaml", log: () => {}, fresh: true });
  assert.ok(fresh.runs.every((r) => r.trained));
  assert.ok(!existsSync(join(out, "tiny", "seed-0", "sr-ft")), "--fresh removes the earlier runs");
  assert.match(readFileSync(join(out, "tiny", "seed-0", "hr2task", "config.resolved.yaml"), "utf8"), /batchSize: 2/);
});
