// The plug-in example of examples/custom-task/ (a dense-regression task written only against the public exports):
// its engine-free data side, its evaluator's distributed state, and the whole study through the CLI on tiny sizes,
// with a data worker thread so that the plug-in's workerModule is what registers the dataset there.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import { stringify } from "yaml";
import { tasksr } from "../support/cli.js";
import { REPO } from "../support/paths.js";

const EXAMPLE = join(REPO, "examples", "custom-task");
const PLUGIN = join(EXAMPLE, "plugin.js");
const TMP = mkdtempSync(join(tmpdir(), "tasksr-custom-task-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

// Plain JavaScript modules without types: what the tests use of them.
interface DenseOptions {
  split: "train" | "val";
  length: number;
  size: number;
  scale: number;
  seed: number;
  periods: [number, number];
}
interface DenseSample {
  id: string;
  image: { data: Uint8Array; width: number; height: number; channels: number };
  target: { kind: "values"; values: Float32Array; width: number; height: number };
}
interface DenseDataModule {
  TASK: string;
  parseDenseOptions(o: Record<string, unknown>, where?: string): DenseOptions;
  openDenseSynthetic(o: Record<string, unknown>): { length: number; get(i: number): Promise<DenseSample> };
  renderDense(o: DenseOptions, i: number): { data: Uint8Array; values: Float32Array };
  denseData: {
    presets: { build(split: string, o: Record<string, unknown>): (s: DenseSample, rng: unknown) => DenseSample };
  };
}
const data = (): Promise<DenseDataModule> => import(pathToFileURL(join(EXAMPLE, "data.js")).href);

const SIZE = 32;
const TRAIN = { type: "dense-synthetic", split: "train", length: 256, size: SIZE, scale: 4, seed: 3 };
const VAL = { type: "dense-synthetic", split: "val", length: 32, size: SIZE, scale: 4, seed: 3 };

/** RMSE (×100, the task's unit) on the validation set of predicting the training set's mean value everywhere. */
async function meanPredictorRmse(): Promise<number> {
  const { openDenseSynthetic } = await data();
  const values = async (o: Record<string, unknown>) => {
    const { type: _, ...rest } = o;
    const ds = openDenseSynthetic(rest);
    const all: number[] = [];
    for (let i = 0; i < ds.length; i++) all.push(...(await ds.get(i)).target.values);
    return all;
  };
  const train = await values(TRAIN);
  const mean = train.reduce((a, v) => a + v, 0) / train.length;
  const val = await values(VAL);
  return 100 * Math.sqrt(val.reduce((a, v) => a + (v - mean) ** 2, 0) / val.length);
}

test("dense-synthetic renders each image from its index alone, and the flip preset moves the value map along", async () => {
  const { parseDenseOptions, renderDense, denseData } = await data();
  const o = parseDenseOptions({ size: SIZE, seed: 1 });
  const a = renderDense(o, 5);
  assert.deepEqual(renderDense(o, 5), a, "same index, same pixels and values");
  assert.notDeepEqual(renderDense({ ...o, split: "val" }, 5).values, a.values, "train and val are other images");
  assert.ok(a.values.every((v) => v >= 0 && v <= 1));
  assert.ok(new Set(a.values).size > 1, "several regions of different values");
  assert.throws(() => parseDenseOptions({ size: 30, scale: 4 }, "data.train"), /data\.train\.size: size must be a mul/);

  const s: DenseSample = {
    id: "x",
    image: { data: a.data, width: SIZE, height: SIZE, channels: 3 },
    target: { kind: "values", values: a.values, width: SIZE, height: SIZE },
  };
  const flipped = denseData.presets.build("train", { hflip: 1, vflip: 0 })(s, { bool: (p: number) => p > 0.5 });
  for (const [x, y] of [
    [0, 0],
    [3, 17],
    [SIZE - 1, 9],
  ] as const) {
    const src = y * SIZE + (SIZE - 1 - x);
    assert.equal(flipped.target.values[y * SIZE + x], a.values[src]);
    assert.deepEqual(
      [...flipped.image.data.subarray((y * SIZE + x) * 3, (y * SIZE + x) * 3 + 3)],
      [...a.data.subarray(src * 3, src * 3 + 3)],
    );
  }
  assert.equal(denseData.presets.build("eval", {})(s, {}), s, "evaluation does not augment");
});

test("the dense-regression evaluator's JSON state merges to the numbers of one evaluator fed every batch", async () => {
  await import(pathToFileURL(PLUGIN).href);
  const t = await import("../../src/index.js");
  const adapter = t.getTask("dense-regression").adapter(t.buildArch("dense-tiny", {}, "task.dense-regression"), {
    numClasses: 0,
  });
  adapter.net.eval();
  const batch = (seed: number) => {
    const g = new t.Generator(seed);
    return {
      task: "dense-regression",
      ids: ["a", "b"],
      hr: t.rand([2, 3, 16, 16], { generator: g }),
      values: t.rand([2, 1, 16, 16], { generator: g }),
    };
  };
  const [b1, b2] = [batch(1), batch(2)];
  const whole = adapter.evaluator();
  const [r0, r1] = [adapter.evaluator(), adapter.evaluator()];
  whole.update(b1.hr, b1);
  whole.update(b2.hr, b2);
  r0.update(b1.hr, b1);
  r1.update(b2.hr, b2);
  r0.mergeState(JSON.parse(JSON.stringify(r1.state())));
  const [w, m] = [whole.compute(), r0.compute()];
  assert.equal(whole.primary, "rmse");
  assert.ok(Number.isFinite(w.rmse!) && w.rmse! > 0 && w.mae! <= w.rmse!, JSON.stringify(w));
  assert.ok(Math.abs(w.rmse! - m.rmse!) < 1e-9 && Math.abs(w.mae! - m.mae!) < 1e-9, `${JSON.stringify([w, m])}`);
  assert.throws(() => r0.mergeState({ sumSq: 1 }), /does not fit/);
  for (const b of [b1, b2]) t.disposeBatch(b);
  adapter.net.dispose();
});

test("the example study runs every setting through the CLI with a data worker; H→T beats the mean predictor", async (t) => {
  const study = {
    name: "dense-tiny-study",
    seeds: [0],
    settings: ["hr2task", "lr2task", "sr-ft", "sr2task", "task2sr", "sr4ir"],
    base: {
      plugins: [PLUGIN],
      task: "dense-regression",
      scale: 4,
      device: "cpu",
      // One worker thread: it opens the dataset, so it must have imported the plug-in's workerModule.
      data: { train: TRAIN, val: VAL, transforms: { hflip: 0.5, vflip: 0.5 }, workers: 1 },
      sr: { arch: "edsr-tiny", options: { residual: true } },
      taskNet: { arch: "dense-tiny" },
      optim: { sr: { type: "adamw", lr: 1e-3 }, task: { type: "adamw", lr: 3e-3 } },
      train: { epochs: 8, batchSize: 8, logEvery: 1000, evalEvery: 8 },
      eval: { batchSize: 32 },
    },
    recipes: {
      task2sr: { stages: "2ep:1:0+6ep:1:0.1" },
      sr4ir: { warmup: { length: 2 }, tdp: { taps: { f2: 1 } }, cqmix: { grid: 4 } },
    },
  };
  const file = join(TMP, "study.yaml");
  writeFileSync(file, stringify(study));
  const out = join(TMP, "runs");
  const r = tasksr("study", file, "--out", out);
  assert.equal(r.status, 0, r.stderr + r.stdout.slice(-3000));

  const dir = join(out, "dense-tiny-study");
  const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as {
    task: string;
    primary: string;
    sr4irView: { id: string; metrics: Record<string, { mean: number }> }[];
    tdsrView: { id: string; metrics: Record<string, { mean: number }> }[];
  };
  assert.equal(report.task, "dense-regression");
  assert.equal(report.primary, "rmse");
  const row = (id: string) => {
    const found = report.sr4irView.find((x) => x.id === id);
    assert.ok(found, `${id} in ${report.sr4irView.map((x) => x.id).join(", ")}`);
    return found.metrics;
  };
  for (const s of study.settings) {
    const m = row(s);
    assert.ok(Number.isFinite(m.rmse?.mean) && Number.isFinite(m.mae?.mean), `${s}: ${JSON.stringify(m)}`);
  }
  for (const s of ["sr4ir", "task2sr"]) {
    const psnr = row(s).psnr_sr4ir?.mean;
    assert.ok(Number.isFinite(psnr) && psnr! > 5, `${s} PSNR ${psnr}`);
  }
  assert.deepEqual(
    report.tdsrView.map((x) => x.id),
    ["HR", "bicubic", "bilinear", "SR-FT", "T→S", "SR4IR"],
  );

  // The task must have been learnt: the HR-trained network well below the best constant.
  const trivial = await meanPredictorRmse();
  const h2t = row("hr2task").rmse!.mean;
  t.diagnostic(`RMSE (x100): H→T ${h2t.toFixed(2)}, mean predictor ${trivial.toFixed(2)}`);
  assert.ok(trivial > 20, `mean predictor RMSE ${trivial}`);
  assert.ok(h2t < 0.7 * trivial, `H→T RMSE ${h2t} vs mean predictor ${trivial}`);

  // The visual side: the study's grid, and grey prediction / ground-truth maps beside the HR view's images.
  assert.ok(existsSync(join(dir, "grid.png")));
  const index = JSON.parse(readFileSync(join(dir, "seed-0", "tdsr-view", "HR", "index.json"), "utf8")) as {
    shown: string;
    truthImage?: string;
    rmse?: number;
  }[];
  assert.ok(index.length > 0 && index.every((e) => e.shown.endsWith("_pred.png") && e.truthImage?.endsWith("_gt.png")));
  assert.ok(
    index.every((e) => Number.isFinite(e.rmse)),
    "draw's index fields reach index.json",
  );
});

test("a config naming the plug-in's task without loading the plug-in fails, naming the unknown task", () => {
  const config = {
    name: "no-plugin",
    task: "dense-regression",
    scale: 4,
    device: "cpu",
    data: { train: TRAIN, val: VAL, workers: 0 },
    taskNet: { arch: "dense-tiny" },
    recipe: { name: "hr2task" },
    optim: { task: { type: "adamw", lr: 1e-3 } },
    train: { epochs: 1, batchSize: 8 },
  };
  const file = join(TMP, "no-plugin.yaml");
  writeFileSync(file, stringify(config));
  const r = tasksr("train", "--config", file, "--out", join(TMP, "runs"));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown task "dense-regression"/);
  assert.ok(!existsSync(join(TMP, "runs", "no-plugin", "task.safetensors")));
});
