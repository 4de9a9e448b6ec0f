// `tasksr eval` through the launcher on tiny runs trained in the test; the numbers are checked against the same
// pipeline assembled in-process from library pieces (dataset, torch bicubic, networks, metric meters).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { stringify } from "yaml";
import { registerEval } from "../../src/cli/commands/eval.js";
import { IdxDataset } from "../../src/data/datasets/idx.js";
import { subsetDataset } from "../../src/data/datasets/subset.js";
import { torchBicubicDown } from "../../src/data/degrade/torch_bicubic.js";
import { readImage } from "../../src/data/io/image.js";
import { collateClassification } from "../../src/data/loader/collate.js";
import { classificationPreset } from "../../src/data/transforms/presets.js";
import { Rng } from "../../src/data/transforms/rng.js";
import { F, manualSeed, memory, noGrad, saveSafetensors, scope, type Tensor } from "../../src/engine/index.js";
import { planFromRun } from "../../src/eval/plan.js";
import { evaluatePlan } from "../../src/eval/run.js";
import type { VisualizedImage } from "../../src/eval/visualize.js";
import { PsnrMeter } from "../../src/metrics/psnr.js";
import { buildArch } from "../../src/models/index.js";
import type { Module } from "../../src/nn/module.js";
import { loadWeights } from "../../src/nn/weights.js";
import { commandError, tasksr } from "../support/cli.js";
import { writeTinyVoc } from "../support/data_trees.js";
import { tinyConfig, trainTiny } from "../support/tiny_runs.js";

const TMP = mkdtempSync(join(tmpdir(), "tasksr-eval-"));
after(() => rmSync(TMP, { recursive: true, force: true }));
let h2t: string;
let sr4ir: string;

before(() => {
  h2t = trainTiny(TMP, tinyConfig("t_000_H2T", "hr2task"));
  sr4ir = trainTiny(TMP, tinyConfig("t_014_SR4IR", "sr4ir"));
});

interface Report {
  setting: string;
  task: string;
  scale: number;
  images: number;
  primary: string;
  metrics: Record<string, number>;
  visualized?: string[];
}

function evalJson(...args: string[]): Report {
  const r = tasksr("eval", ...args, "--json", "--device", "cpu");
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

/** top-1 and both PSNRs of `upscale(LR)` through the task weights, for the 16 validation images, in-process. */
async function reference(taskWeights: string, upscale: (lr: Tensor) => Tensor) {
  // The run's valLimit subset: 16 images drawn with the fixed validation seed 0.
  const ds = subsetDataset(await IdxDataset.open({ split: "test" }), 16, 0);
  const t = classificationPreset("eval", { resize: 32, crop: 32 });
  const samples = await Promise.all(Array.from({ length: 16 }, async (_, i) => t(await ds.get(i), new Rng(0, 0, i))));
  const net = buildArch("resnet-tiny", { numClasses: 10 }) as unknown as Module<[Tensor], Tensor>;
  loadWeights(net, taskWeights);
  net.eval();
  const meters = [new PsnrMeter({ protocol: "sr4ir", scale: 4 }), new PsnrMeter({ protocol: "basicsr", scale: 4 })];
  const batch = collateClassification(samples);
  const top1 = scope(() =>
    noGrad(() => {
      const x = upscale(torchBicubicDown(batch.hr, 4)); // [16, 3, 32, 32]
      for (let i = 0; i < 16; i++) {
        const img = (b: Tensor) => ({
          data: b.select(0, i).contiguous().data<"float32">(),
          width: 32,
          height: 32,
          channels: 3 as const,
          layout: "chw" as const,
        });
        for (const m of meters) m.update(img(x), img(batch.hr));
      }
      const pred = net.call(x).argmax(1).data<"int64">();
      const labels = batch.labels.data<"int64">();
      return (100 * pred.filter((p, i) => p === labels[i]).length) / 16;
    }),
  );
  batch.hr.dispose();
  batch.labels.dispose();
  net.dispose();
  return { top1, psnr_sr4ir: meters[0]!.compute().psnr, psnr_basicsr: meters[1]!.compute().psnr };
}

function assertMatches(r: Report, ref: { top1: number; psnr_sr4ir: number; psnr_basicsr: number }): void {
  assert.equal(r.metrics.top1, ref.top1);
  assert.ok(
    Math.abs(r.metrics.psnr_sr4ir! - ref.psnr_sr4ir) < 1e-6,
    `sr4ir PSNR ${r.metrics.psnr_sr4ir} vs ${ref.psnr_sr4ir}`,
  );
  assert.ok(
    Math.abs(r.metrics.psnr_basicsr! - ref.psnr_basicsr) < 1e-6,
    `basicsr PSNR ${r.metrics.psnr_basicsr} vs ${ref.psnr_basicsr}`,
  );
  assert.ok(r.metrics.ssim! > 0 && r.metrics.ssim! <= 1, `SSIM ${r.metrics.ssim}`);
}

test("eval --run: an SR4IR run's SR net into its task net, as the same pipeline computes it in-process", async () => {
  const r = evalJson("--run", sr4ir);
  assert.deepEqual([r.setting, r.task, r.scale, r.images, r.primary], ["SR4IR", "classification", 4, 16, "top1"]);
  assert.deepEqual(Object.keys(r.metrics).sort(), ["psnr_basicsr", "psnr_sr4ir", "ssim", "top1", "top5"]);
  const sr = buildArch("edsr-tiny", { scale: 4 }) as unknown as Module<[Tensor], Tensor>;
  loadWeights(sr, join(sr4ir, "sr.safetensors"));
  sr.eval();
  assertMatches(r, await reference(join(sr4ir, "task.safetensors"), (lr) => sr.call(lr)));
  sr.dispose();
  const hr = evalJson("--run", h2t);
  assert.equal(hr.setting, "H→T");
  assert.deepEqual(Object.keys(hr.metrics).sort(), ["top1", "top5"], "no PSNR for HR inputs");
  // The same pipeline as the run's own final evaluation (eval mode, fixed evaluation LR): the same numbers.
  const final = (JSON.parse(readFileSync(join(sr4ir, "results.json"), "utf8")) as { final: Record<string, number> })
    .final;
  assert.deepEqual(r.metrics, final);
  // A config evaluates the run it produced (SR4IR's --test_only).
  const byConfig = evalJson("--config", join(TMP, "t_014_SR4IR.yaml"), "--out", join(TMP, "runs"));
  assert.deepEqual(byConfig.metrics, r.metrics);
});

test("eval --sr bicubic --task <H→T run>: bicubic LR through the fixed task net; data from the task's run", async () => {
  const r = evalJson("--sr", "bicubic", "--task", h2t);
  assert.equal(r.setting, "bicubic → H→T task net");
  const bicubic = (lr: Tensor) => F.interpolate(lr, { size: [32, 32], mode: "bicubic", alignCorners: false });
  assertMatches(r, await reference(join(h2t, "task.safetensors"), bicubic));
  // Any SR network through the same task net: the SR4IR run's SR output into the H→T classifier.
  const cross = evalJson(
    "--sr",
    sr4ir,
    "--task",
    join(h2t, "task.safetensors"),
    "--config",
    join(TMP, "t_000_H2T.yaml"),
    "--limit",
    "8",
  );
  assert.equal(cross.setting, "SR4IR → H→T task net", "weights inside a run folder are named by its setting");
  assert.equal(cross.images, 8);
});

test("eval --visualize writes LR/SR/HR images and a captioned grid; human-readable output names the protocols", async () => {
  const dir = join(TMP, "vis");
  const r = tasksr("eval", "--run", sr4ir, "--visualize", dir, "--vis-count", "3", "--device", "cpu");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /setting {3}SR4IR/);
  assert.match(r.stdout, /PSNR {6}\d+\.\d\d dB \(sr4ir: RGB, crop 8\) {3}\d+\.\d\d dB \(basicsr: Y, crop 4\)/);
  assert.match(r.stdout, /SSIM {6}0\.\d{4}/);
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 3 * 3 + 2, files.join(", "));
  // index.json lists each image's files by role; the three images are spread over the 16 evaluated.
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as VisualizedImage[];
  assert.equal(new Set(index.map((v) => v.id)).size, 3);
  assert.ok(index.every((v) => v.predicted !== undefined && v.truth !== undefined && v.shown === v.input));
  const [lr, sr, hr] = await Promise.all(
    [index[0]!.lr, index[0]!.input!, index[0]!.hr].map((f) => readImage(join(dir, f))),
  );
  assert.deepEqual([lr!.width, sr!.width, hr!.width], [8, 32, 32]);
  assert.ok(index[0]!.input!.startsWith("000_") && index[0]!.input!.endsWith("_sr.png"));
  const grid = await readImage(join(dir, "grid.png"));
  assert.ok(grid.width > 3 * 256 && grid.height > 3 * 256, `grid ${grid.width}x${grid.height}`);
  const inRun = tasksr("eval", "--run", h2t, "--visualize", "--vis-count", "1", "--limit", "4", "--device", "cpu");
  assert.equal(inRun.status, 0, inRun.stderr);
  const shown = JSON.parse(readFileSync(join(h2t, "visualize", "index.json"), "utf8")) as VisualizedImage[];
  assert.equal(shown.length, 1);
  assert.ok(existsSync(join(h2t, "visualize", shown[0]!.hr)));
});

test("evaluatePlan in-process frees every tensor it creates, visualisation included", async () => {
  const before = memory().liveTensors;
  const plan = await planFromRun(sr4ir, { device: "cpu", limit: 8 });
  const r = await evaluatePlan(plan, { device: "cpu", visualize: { dir: join(TMP, "vis-leak"), count: 4 } });
  plan.dispose();
  assert.equal(r.images, 8);
  assert.equal(r.visualized?.length, 4 * 3 + 2); // images, grid.png, index.json
  assert.equal(memory().liveTensors, before, "live tensors back to the starting count");
});

test("eval, segmentation: sizes off the scale grid are padded and cropped back; masks are colourised", async () => {
  const voc = join(TMP, "VOC2012");
  await writeTinyVoc(voc);
  const cfgPath = join(TMP, "seg.yaml");
  const data = { type: "voc-seg", root: voc, split: "train" };
  writeFileSync(
    cfgPath,
    stringify({
      name: "t_seg",
      task: "segmentation",
      scale: 4,
      data: { train: data, val: data, transforms: { resize: 22 } },
      taskNet: { arch: "deeplabv3-mobilenetv3-light" },
      recipe: { name: "hr2task" },
      optim: { task: { type: "sgd", lr: 0.01 } },
      train: { epochs: 1, batchSize: 1 },
      eval: { batchSize: 1 },
    }),
  );
  manualSeed(0);
  const net = buildArch("deeplabv3-mobilenetv3-light", { numClasses: 21 });
  const weights = join(TMP, "deeplab.safetensors");
  saveSafetensors(weights, net.stateDict(), { arch: "deeplabv3-mobilenetv3-light" });
  net.dispose();
  const dir = join(TMP, "seg-vis");
  const r = evalJson("--sr", "bicubic", "--task", weights, "--config", cfgPath, "--visualize", dir, "--vis-count", "2");
  assert.deepEqual([r.task, r.images, r.primary], ["segmentation", 3, "mIoU"]);
  for (const k of ["mIoU", "pixelAcc", "psnr_sr4ir", "psnr_basicsr", "ssim"])
    assert.ok(Number.isFinite(r.metrics[k]), k);
  // 24x16 images at short side 22 are 33x22: LR from the 36x24 replicate-padded HR, SR cropped back to 33x22.
  const [lr, sr, gt, pred] = await Promise.all(
    ["lr", "bicubic", "gt", "pred"].map((k) => readImage(join(dir, `000_2008_000001_${k}.png`))),
  );
  assert.deepEqual([lr!.width, lr!.height, sr!.width, sr!.height, pred!.width, gt!.height], [9, 6, 33, 22, 33, 22]);
  // Ground truth at x = 16 holds class 12 (dog) in the VOC colours; at x = 30 near the top, the 255 border colour.
  const at = (img: typeof gt, x: number, y: number) =>
    Array.from(img!.data.subarray(3 * (y * img!.width + x), 3 * (y * img!.width + x) + 3));
  assert.deepEqual(at(gt, 16, 12), [64, 0, 128]);
  assert.deepEqual(at(gt, 30, 2), [224, 224, 192]);
});

test("eval: wrong combinations and inputs are one clear error each", async () => {
  const untrained = join(TMP, "t_099_untrained.yaml");
  writeFileSync(untrained, stringify(tinyConfig("t_099_untrained", "hr2task")));
  const cases: [string[], RegExp][] = [
    [[], /say what to evaluate: --run <dir>, --config <yaml>, or --sr <X> --task <Y>/],
    [["--sr", "bicubic"], /--sr and --task go together/],
    [["--run", h2t, "--sr", "bicubic"], /--run evaluates a run folder on its own/],
    [["--run", TMP], /is not a tasksr run folder \(no config\.resolved\.yaml\)/],
    [
      ["--sr", "bicubic", "--task", join(h2t, "task.safetensors")],
      /--task .*task\.safetensors is not a run folder; pass --config/,
    ],
    [["--sr", sr4ir, "--task", h2t, "--scale", "2"], /--scale 2 contradicts the weights file, which says 4/],
    [["--sr", "bicubic", "--task", h2t, "--limit", "0"], /--limit must be a positive integer, got "0"/],
    [["--sr", h2t, "--task", h2t], /--sr .*t_000_H2T: the run \(recipe hr2task\) has no SR network/],
    [["--sr", "bicubic", "--task", h2t, "--visualize"], /--visualize needs a folder here/],
    [
      ["--config", untrained, "--out", join(TMP, "runs")],
      /has no trained task network and the config names no taskNet\.weights; train it first/,
    ],
  ];
  for (const [args, want] of cases) {
    assert.match(
      (await commandError(registerEval, ["eval", ...args, "--device", "cpu"])).message,
      want,
      args.join(" "),
    );
  }
  const r = tasksr("eval", "--sr", "bicubic");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--sr and --task go together/);
});
