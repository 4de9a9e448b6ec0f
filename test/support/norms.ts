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

/**
 * Replays tools/fixtures/model_utils.py `fill_deterministic`: every floating state-dict entry (or only the parameters,
 * `paramsOnly`), in sorted key order, from one generator — weights N(0, 1/fan_in), biases and running means
 * N(0, 0.2²), running variances and 1-D scales U(0.5, 1.5).
 */
export function fillDeterministic(net: Module<never[], unknown>, seed: number, o: { paramsOnly?: boolean } = {}): void {
  const generator = new Generator(seed);
  const sd = o.paramsOnly ? new Map(net.namedParameters()) : net.stateDict();
  noGrad(() =>
    scope(() => {
      for (const k of [...sd.keys()].sort()) {
        const v = sd.get(k)!;
        if (v.dtype !== "float32") continue;
        const leaf = k.slice(k.lastIndexOf(".") + 1);
        if (leaf === "bias" || leaf === "running_mean") v.copy_(randn(v.shape, { generator }).mul(0.2));
        else if (leaf === "running_var" || v.ndim === 1) v.copy_(rand(v.shape, { generator }).add(0.5));
        else v.copy_(randn(v.shape, { generator }).div(Math.sqrt(v.numel / v.shape[0]!)));
      }
    }),
  );
}
