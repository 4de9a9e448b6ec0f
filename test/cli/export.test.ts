// `tasksr export` on tiny runs trained in the test: each part's file, checked by the command with onnxruntime-node,
// and `sr+task` checked independently against the run's two networks loaded and chained in the engine. Then
// `tasksr upscale --backend onnx` on the exported SR net against the libtorch backend, and the argument errors.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { registerExport } from "../../src/cli/commands/export.js";
import { readImage, writeImage } from "../../src/data/io/image.js";
import { manualSeed, noGrad, rand, scope } from "../../src/engine/index.js";
import type { Tensor } from "../../src/engine/tensor.js";
import { planFromRun } from "../../src/eval/plan.js";
import { onnxRuntime } from "../../src/infer/ort.js";
import { commandError, tasksr } from "../support/cli.js";
import { pattern } from "../support/data_trees.js";
import { tinyConfig, trainTiny } from "../support/tiny_runs.js";

const TMP = mkdtempSync(join(tmpdir(), "tasksr-export-"));
after(() => rmSync(TMP, { recursive: true, force: true }));
let h2t: string;
let sr4ir: string;

before(() => {
  h2t = trainTiny(TMP, tinyConfig("x_H2T", "hr2task"));
  sr4ir = trainTiny(TMP, tinyConfig("x_SR4IR", "sr4ir"));
});

interface ExportJson {
  ok: boolean;
  part: string;
  outputs: Record<string, (number | string)[]>;
  check: { maxAbsDiff: number };
  metadata: Record<string, string>;
}

function exportJson(...args: string[]): ExportJson {
  const r = tasksr("export", ...args, "--json");
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ExportJson;
}

test("tasksr export: sr, task and sr+task of an SR4IR run, each checked by onnxruntime-node", () => {
  const sr = exportJson("--run", sr4ir, "--out", join(TMP, "sr.onnx"));
  assert.deepEqual([sr.part, sr.outputs], ["sr", { sr: ["N", 3, "4*h", "4*w"] }]);
  const task = exportJson("--run", sr4ir, "--part", "task", "--out", join(TMP, "task.onnx"));
  assert.deepEqual(task.outputs, { logits: ["N", 10] });
  const both = exportJson("--run", sr4ir, "--part", "sr+task", "--out", join(TMP, "both.onnx"), "--fp16");
  assert.equal(both.metadata["tasksr.task"], "classification");
  assert.equal(JSON.parse(both.metadata["tasksr.classes"]!).length, 10);
  for (const r of [sr, task, both]) assert.ok(r.ok, `${r.part}: ${r.check.maxAbsDiff}`);
  // From a weights file (safetensors with tasksr metadata: the architecture and scale need no flags).
  const file = exportJson("--sr", join(sr4ir, "sr.safetensors"), "--out", join(TMP, "file.onnx"), "--opset", "18");
  assert.deepEqual([file.ok, file.outputs], [true, { sr: ["N", 3, "4*h", "4*w"] }]);
  const h = exportJson("--run", h2t, "--out", join(TMP, "h2t.onnx"));
  assert.equal(h.part, "task", "an H→T run has no SR network: its default part is the task network");
});

test("tasksr export: the sr+task graph equals the run's SR and task networks chained in tasksr", async () => {
  const r = tasksr("export", "--run", sr4ir, "--part", "sr+task", "--out", join(TMP, "chain.onnx"), "--no-check");
  assert.equal(r.status, 0, r.stderr);
  const plan = await planFromRun(sr4ir, { device: "cpu", limit: 1 });
  try {
    assert.equal(plan.input.kind, "sr");
    const srNet = (plan.input as { net: { call(x: Tensor): Tensor } }).net;
    const taskNet = plan.task.adapter.net as unknown as { call(x: Tensor): Tensor };
    const { x, y } = noGrad(() =>
      scope(() => {
        manualSeed(3);
        const lr = rand([3, 3, 9, 13]);
        return { x: lr.data<"float32">(), y: taskNet.call(srNet.call(lr)).data<"float32">() };
      }),
    );
    const ort = await onnxRuntime();
    const session = await ort.InferenceSession.create(readFileSync(join(TMP, "chain.onnx")));
    const out = (await session.run({ lr: new ort.Tensor("float32", x, [3, 3, 9, 13]) })).logits!;
    assert.deepEqual(out.dims, [3, 10]);
    const got = out.data as Float32Array;
    for (let i = 0; i < y.length; i++) assert.ok(Math.abs(got[i]! - y[i]!) <= 1e-4, `logit ${i}: ${got[i]} vs ${y[i]}`);
    await session.release();
  } finally {
    plan.dispose();
  }
});

test("tasksr upscale --backend onnx writes the libtorch backend's pixels within 1/255", async () => {
  const model = join(TMP, "up.onnx");
  assert.equal(tasksr("export", "--run", sr4ir, "--out", model).status, 0);
  const input = join(TMP, "in.png");
  await writeImage(input, pattern(30, 21, 3));
  const a = tasksr("upscale", "--backend", "onnx", "--sr", model, input, join(TMP, "onnx.png"), "--tile", "8");
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stdout, /onnxruntime-node x4/);
  const b = tasksr("upscale", "--sr", sr4ir, input, join(TMP, "torch.png"), "--tile", "8");
  assert.equal(b.status, 0, b.stderr);
  const [p, q] = [await readImage(join(TMP, "onnx.png")), await readImage(join(TMP, "torch.png"))];
  assert.deepEqual([p.width, p.height], [120, 84]);
  let d = 0;
  for (let i = 0; i < p.data.length; i++) d = Math.max(d, Math.abs(p.data[i]! - q.data[i]!));
  assert.ok(d <= 1, `max byte difference ${d}`);
  const bad = tasksr("upscale", "--backend", "onnx", "--sr", sr4ir, input, join(TMP, "x.png"));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--sr must be an \.onnx file/);
});

test("tasksr export: argument errors name the argument", async () => {
  const cases: [string[], RegExp][] = [
    [["--out", "a.onnx"], /exactly one of --run <dir> and --sr/],
    [["--run", "x", "--sr", "bicubic", "--out", "a.onnx"], /exactly one of/],
    [["--sr", "bicubic", "--scale", "4", "--part", "task", "--out", "a.onnx"], /--part task needs --run/],
    [
      ["--sr", "bicubic", "--scale", "4", "--part", "all", "--out", "a.onnx"],
      /--part must be one of sr, task, sr\+task/,
    ],
    [["--sr", "bicubic", "--scale", "4", "--out", "a.pt"], /--out must end in \.onnx/],
    [["--sr", "bicubic", "--scale", "4", "--opset", "9", "--out", join(TMP, "a.onnx")], /--opset must be one of 17/],
  ];
  for (const [args, pattern] of cases) {
    const e = await commandError(registerExport, ["export", ...args]);
    assert.match(e.message, pattern);
  }
  const r = tasksr("export", "--run", h2t, "--part", "sr", "--out", join(TMP, "no.onnx"));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /sees HR images; it has no SR part/);
});
