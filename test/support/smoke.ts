import assert from "node:assert/strict";
import {
  Adam,
  loadSafetensors,
  manualSeed,
  memory,
  noGrad,
  rand,
  saveSafetensors,
  scope,
  Tensor,
} from "../../src/engine/index.js";
import type { Module } from "../../src/nn/module.js";
import { tmpFile } from "./tmp.js";

/** Every tensor in a network output: a Tensor, or an object/Map of them. */
export function outputTensors(o: unknown): Tensor[] {
  if (o instanceof Tensor) return [o];
  const values = o instanceof Map ? [...o.values()] : Object.values(o as object);
  return values.filter((v): v is Tensor => v instanceof Tensor);
}

/**
 * The smoke test every architecture gets: build (seeded), forward in training mode, backward of the mean of every
 * output, one Adam step that changes the trainable parameters, a safetensors round trip into a differently seeded
 * copy that reproduces the eval outputs exactly, and no leaked tensor handles once everything is disposed.
 */
export function smokeTest(build: () => Module<[Tensor], unknown>, inputShape: number[]): void {
  const before = memory().liveTensors;
  manualSeed(0);
  const net = build().train();
  // The input requires grad so that parameter-free networks have a graph to back-propagate through too.
  const x = rand(inputShape).requiresGrad_();
  const trainable = net.parameters().filter((p) => p.requiresGrad);
  scope(() => {
    const outs = outputTensors(net.call(x));
    assert.ok(outs.length > 0, "network returned no tensor");
    outs
      .map((t) => t.mean())
      .reduce((a, b) => a.add(b))
      .backward();
    assert.ok(x.grad !== undefined, "the input receives a gradient");
  });
  if (trainable.length > 0) {
    const first = trainable[0]!;
    const snapshot = scope(() => first.detach().clone());
    assert.ok(
      scope(() => trainable.every((p) => p.grad !== undefined)),
      "every trainable parameter receives a gradient",
    );
    const opt = new Adam(trainable, { lr: 1e-3 });
    opt.step();
    opt.zeroGrad();
    assert.ok(!scope(() => first.equal(snapshot)), "the optimizer step changed the parameters");
    snapshot.dispose();
    opt.dispose();
  }

  net.eval();
  const path = tmpFile(`smoke-${net.constructor.name}.safetensors`);
  saveSafetensors(path, net.stateDict());
  manualSeed(1);
  const copy = build().eval();
  const loaded = loadSafetensors(path).tensors;
  copy.loadStateDict(loaded);
  for (const t of loaded.values()) t.dispose();
  scope(() => {
    const a = outputTensors(noGrad(() => net.call(x)));
    const b = outputTensors(noGrad(() => copy.call(x)));
    assert.equal(a.length, b.length);
    for (const [i, t] of a.entries()) assert.ok(t.equal(b[i]!), `output ${i} identical after the round trip`);
  });
  x.dispose();
  net.dispose();
  copy.dispose();
  assert.equal(memory().liveTensors - before, 0, "live tensor handles back to the starting count");
}
