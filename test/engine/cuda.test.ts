// The engine on CUDA against the same ops on the CPU. Every test skips where no CUDA device is visible (CPU-only
// libtorch or no GPU), so the suite stays green on CPU machines; on a GPU machine they run with the rest.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as F from "../../src/engine/functional.js";
import {
  cat,
  cudaAvailable,
  cudaMemory,
  manualSeed,
  memory,
  rand,
  resolveDevice,
  SGD,
  scope,
  type Tensor,
} from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { buildArch } from "../../src/models/index.js";
import type { Module } from "../../src/nn/module.js";
import { assertClose } from "../support/compare.js";

const gpu = cudaAvailable();
const skip = !gpu && "no CUDA device";

test("without CUDA, asking for it is one clear E_DEVICE error", { skip: gpu && "a CUDA device is present" }, () => {
  assert.throws(
    () => resolveDevice("cuda"),
    (e: unknown) => e instanceof TasksrError && e.code === "E_DEVICE" && /use --device cpu/.test(e.message),
  );
  assert.equal(resolveDevice("auto"), "cpu");
});

test("cuda: round trip, conv2d forward and backward equal the CPU's", { skip }, () => {
  scope(() => {
    manualSeed(0);
    const x = rand([2, 3, 17, 13]);
    const w = rand([8, 3, 3, 3]).sub(0.5);
    const xg = x.to("cuda").requiresGrad_(true);
    const wg = w.to("cuda").requiresGrad_(true);
    assert.equal(xg.device, "cuda:0");
    assertClose(xg.to("cpu"), x, 0, "round trip");
    const xc = x.clone().requiresGrad_(true);
    const wc = w.clone().requiresGrad_(true);
    const yc = F.conv2d(xc, wc, undefined, { padding: 1, stride: 2 });
    const yg = F.conv2d(xg, wg, undefined, { padding: 1, stride: 2 });
    assertClose(yg.to("cpu"), yc, 1e-5, "conv2d");
    yc.square().sum().backward();
    yg.square().sum().backward();
    assertClose(xg.grad!.to("cpu"), xc.grad!, 1e-5, "input gradient");
    assertClose(wg.grad!.to("cpu"), wc.grad!, 1e-5, "weight gradient");
  });
});

test("cuda: NMS keeps the same boxes as on the CPU", { skip }, () => {
  scope(() => {
    manualSeed(1);
    const xy = rand([200, 2]).mul(100);
    const wh = rand([200, 2]).mul(30).add(1);
    const boxes = cat([xy, xy.add(wh)], 1);
    const scores = rand([200]);
    const cpu = F.nms(boxes, scores, 0.5).toArray();
    const cuda = F.nms(boxes.to("cuda"), scores.to("cuda"), 0.5).to("cpu").toArray();
    assert.deepEqual(cuda, cpu);
  });
});

test("cuda: an EDSR training step matches the CPU's and frees every tensor it made", { skip }, () => {
  const step = (device: string): number[] =>
    scope(() => {
      manualSeed(0);
      const net = buildArch("edsr-tiny", { scale: 2 }, "sr") as unknown as Module<[Tensor], Tensor>;
      net.to(device);
      const x = rand([2, 3, 12, 12]).to(device);
      const y = rand([2, 3, 24, 24]).to(device);
      const opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) {
        scope(() => {
          opt.zeroGrad();
          const l = F.l1Loss(net.call(x), y);
          l.backward();
          opt.step();
          losses.push(l.item());
        });
      }
      opt.dispose();
      net.dispose();
      return losses;
    });
  const before = memory().liveTensors;
  const cpu = step("cpu");
  const cuda = step("cuda");
  // After one run the CUDA libraries' workspaces exist; a second identical run must not hold more device memory.
  const allocated = cudaMemory().allocated;
  step("cuda");
  for (let i = 0; i < cpu.length; i++) assert.ok(Math.abs(cuda[i]! - cpu[i]!) <= 1e-4 * Math.abs(cpu[i]!), `step ${i}`);
  assert.equal(memory().liveTensors, before);
  assert.equal(cudaMemory().allocated, allocated);
});
