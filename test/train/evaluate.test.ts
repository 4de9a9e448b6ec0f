import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { validateRun } from "../../src/config/load.js";
import { scope } from "../../src/engine/scope.js";
import { buildRun } from "../../src/train/build.js";
import { evaluateRun } from "../../src/train/trainer.js";
import { pattern, putImage, tempDir } from "../support/data_trees.js";

async function tinyTree(): Promise<string> {
  const root = tempDir("eval");
  for (const split of ["train", "val"]) {
    for (const [c, cls] of ["a", "b"].entries()) {
      for (let i = 0; i < 4; i++) await putImage(join(root, split, cls, `${i}.png`), pattern(16, 16, 10 * c + i));
    }
  }
  return root;
}

test("evaluation runs BatchNorm networks in eval mode, leaves running statistics alone, restores the mode", async () => {
  const root = await tinyTree();
  const cfg = validateRun(
    {
      name: "eval-mode",
      task: "classification",
      scale: 4,
      device: "cpu",
      data: {
        train: { type: "image-folder", root: join(root, "train") },
        val: { type: "image-folder", root: join(root, "val") },
        transforms: { resize: 16, crop: 16 },
        prefetch: 0,
      },
      taskNet: { arch: "resnet-tiny" },
      recipe: { name: "hr2task" },
      optim: { task: { type: "sgd", lr: 0.1 } },
      train: { epochs: 1, batchSize: 4 },
      eval: { batchSize: 4 },
    },
    "test",
  );
  const p = await buildRun(cfg);
  try {
    const net = p.task.net.train();
    const stats = () =>
      [...net.stateDict()]
        .filter(([k]) => k.includes("running_"))
        .map(([k, t]) => [k, scope(() => t.float().data<"float32">().slice())] as const);
    const before = stats();
    const inTrainMode = await evaluateRun(p);
    assert.equal(net.training, true, "the network's mode is restored");
    assert.deepEqual(stats(), before, "running statistics are not updated by an evaluation");
    net.eval();
    const inEvalMode = await evaluateRun(p);
    assert.equal(net.training, false);
    assert.deepEqual(inTrainMode.task, inEvalMode.task, "the metric does not depend on the mode the net was left in");
  } finally {
    p.dispose();
  }
});
