/**
 * Every exportable architecture through onnxruntime-node against the engine at two input sizes that no trace used:
 * float32 to 1e-4 and float16 to 1e-2 (relative to the output's magnitude when above 1, e.g. random-init logits).
 * Networks are random-initialised; their batch norms get non-trivial running statistics so that the folded
 * constants are checked too.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { noGrad, scope, type Tensor } from "../../src/engine/index.js";
import { buildArch, listArchs } from "../../src/models/index.js";
import type { SegmenterOutput } from "../../src/models/types.js";
import type { Module } from "../../src/nn/module.js";
import { compareOnnx } from "../support/onnx.js";

const EXPORTABLE = ["sr", "task.classification", "task.segmentation"] as const;

/** Input sizes [N, h, w]: SR nets at small LR sizes (their traces too), task nets at image sizes. */
const SIZES = {
  sr: [
    [1, 13, 19],
    [2, 22, 17],
  ],
  task: [
    [1, 45, 59],
    [2, 70, 52],
  ],
} as const;

// `swinir` builds SwinIR-M by default: swinir-m is the same network, exported once.
const SAME_AS_ANOTHER = new Set(["swinir"]);

for (const arch of listArchs().filter(
  (a) => (EXPORTABLE as readonly string[]).includes(a.kind) && !SAME_AS_ANOTHER.has(a.name),
)) {
  const isSr = arch.kind === "sr";
  for (const fp16 of [false, true]) {
    test(`export parity: ${arch.name} (${fp16 ? "fp16" : "fp32"})`, async () => {
      const net = buildArch(arch.name, isSr ? {} : { numClasses: 5 }) as unknown as Module<[Tensor], unknown>;
      noGrad(() =>
        scope(() => {
          for (const [k, b] of net.namedBuffers()) {
            if (k.endsWith("running_var")) b.copy_(b.mul(0).add(1.3));
            if (k.endsWith("running_mean")) b.copy_(b.mul(0).add(0.05));
          }
        }),
      );
      net.eval();
      const forward = (x: Tensor) => {
        const y = net.call(x);
        return arch.kind === "task.segmentation" ? (y as SegmenterOutput).out : (y as Tensor);
      };
      try {
        const tol = fp16 ? 1e-2 : 1e-4;
        const results = await compareOnnx(forward, isSr ? SIZES.sr : SIZES.task, {
          fp16,
          named: [...net.namedParameters(), ...net.namedBuffers()],
          ...(isSr ? { sampleSize: [16, 20] as const } : {}),
        });
        for (const r of results) {
          assert.ok(
            r.maxAbsDiff <= tol * Math.max(1, r.maxAbs),
            `${arch.name} at ${r.size}: max abs diff ${r.maxAbsDiff} (|y| ≤ ${r.maxAbs}, tolerance ${tol})`,
          );
        }
      } finally {
        net.dispose();
      }
    });
  }
}

test("SwinIR's own padding exports at any size: reflect, and replicate where a pad reaches the size", async () => {
  // evalPadding forward: the network pads 13×19 by 3 and 5 rows/columns (reflect); 3×5 by 5 and 3, which reflect
  // cannot do, so the engine replicates — the graph must switch the same way at run time.
  const net = buildArch("swinir-tiny", { scale: 2, evalPadding: "forward" }, "sr");
  net.eval();
  try {
    const results = await compareOnnx(
      (x) => net.call(x),
      [
        [1, 13, 19],
        [2, 3, 5],
        [1, 16, 8],
      ],
      {
        named: [...net.namedParameters(), ...net.namedBuffers()],
        sampleSize: [16, 20] as const,
      },
    );
    for (const r of results) assert.ok(r.maxAbsDiff <= 1e-4 * Math.max(1, r.maxAbs), `${r.size}: ${r.maxAbsDiff}`);
  } finally {
    net.dispose();
  }
});
