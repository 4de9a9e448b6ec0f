/**
 * `tasksr bench ddp --json` end to end at a small size (the PyTorch side when it is installed): one JSON object with
 * both efficiencies and 2 processes x B against 1 x 2B weights that agree.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import test from "node:test";
import { findTorchPython } from "../../src/bench/child.js";
import { tasksr } from "../support/cli.js";
import { noDist } from "../support/dist.js";

const fmnist = existsSync("/usr/share/datasets/fashion-mnist") ? false : "Fashion-MNIST is not installed";

test(
  "bench ddp --json: throughputs, efficiencies and the 2 x B vs 1 x 2B weight difference",
  { skip: noDist || fmnist },
  () => {
    const torch = findTorchPython() !== undefined;
    const r = tasksr("bench", "ddp", "--json", "--batch", "4", "--steps", "4", "--warmup", "1", "--rounds", "1");
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
    for (const k of ["ours_efficiency", "torch_efficiency", "efficiency_ratio", "max_rel_weight_diff"])
      assert.ok(k in o, k);
    assert.ok((o.ours_efficiency as number) > 0);
    assert.equal(o.torch_efficiency === null, !torch);
    // Five AdamW steps summed in another order: float32 rounding, far below the 1e-4 the benchmark is held to.
    assert.ok((o.max_rel_weight_diff as number) < 1e-4, String(o.max_rel_weight_diff));
  },
);
