import { Generator, noGrad, rand, randn, scope } from "../../src/engine/index.js";
import { BatchNorm2d, FrozenBatchNorm2d } from "../../src/nn/index.js";
import type { Module } from "../../src/nn/module.js";

/**
 * Replays tools/fixtures/model_utils.py `randomize_norms`: the same generator draws, in the same module order, so a
 * seeded build here and in torchvision end up with identical normalisation statistics and affine parameters.
 */
export function randomizeNorms(net: Module<never[], unknown>, seed: number): void {
  const generator = new Generator(seed);
  noGrad(() =>
    scope(() => {
      for (const [, m] of net.namedModules()) {
        if (!(m instanceof BatchNorm2d || m instanceof FrozenBatchNorm2d)) continue;
        const c = m.numFeatures;
        m.runningMean.copy_(randn([c], { generator }).mul(0.2));
        m.runningVar.copy_(rand([c], { generator }).add(0.5));
        m.weight!.copy_(rand([c], { generator }).add(0.5));
        m.bias!.copy_(randn([c], { generator }).mul(0.2));
      }
    }),
  );
}
