/**
 * Parameter initialisers with PyTorch's arithmetic, drawing from the engine's generators in the same order as
 * torch.nn does, so `manualSeed(s)` + construct gives the same weights as `torch.manual_seed(s)` + construct.
 */
import type { Generator } from "../engine/creation.js";
import type { Tensor } from "../engine/tensor.js";

/** fan_in/fan_out as torch.nn.init._calculate_fan_in_and_fan_out (dim 1 is "in", dim 0 is "out"). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fan in/out need at least 2 dims, got [${shape}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

const gainOf = (nonlinearity: "relu" | "leaky_relu" | "linear", a: number): number =>
  nonlinearity === "relu" ? Math.sqrt(2) : nonlinearity === "leaky_relu" ? Math.sqrt(2 / (1 + a * a)) : 1;

/** kaiming_uniform_(t, a, mode="fan_in", nonlinearity="leaky_relu") */
export function kaimingUniform_(
  t: Tensor,
  o: {
    a?: number;
    mode?: "fanIn" | "fanOut";
    nonlinearity?: "relu" | "leaky_relu" | "linear";
    generator?: Generator;
  } = {},
): Tensor {
  const f = fans(t.shape);
  const fan = o.mode === "fanOut" ? f.fanOut : f.fanIn;
  const std = gainOf(o.nonlinearity ?? "leaky_relu", o.a ?? 0) / Math.sqrt(fan);
  const bound = Math.sqrt(3.0) * std;
  return t.uniform_(-bound, bound, o.generator);
}

/** kaiming_normal_(t, a, mode, nonlinearity) */
export function kaimingNormal_(
  t: Tensor,
  o: {
    a?: number;
    mode?: "fanIn" | "fanOut";
    nonlinearity?: "relu" | "leaky_relu" | "linear";
    generator?: Generator;
  } = {},
): Tensor {
  const f = fans(t.shape);
  const fan = o.mode === "fanOut" ? f.fanOut : f.fanIn;
  return t.normal_(0, gainOf(o.nonlinearity ?? "leaky_relu", o.a ?? 0) / Math.sqrt(fan), o.generator);
}

/** The default init of nn.Conv2d / nn.Linear weights: kaiming_uniform_(a = sqrt(5)). */
export const defaultWeightInit_ = (w: Tensor, generator?: Generator): Tensor =>
  kaimingUniform_(w, { a: Math.sqrt(5), generator });

/** The default init of nn.Conv2d / nn.Linear biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function defaultBiasInit_(b: Tensor, weightShape: readonly number[], generator?: Generator): Tensor {
  const { fanIn } = fans(weightShape);
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return b.uniform_(-bound, bound, generator);
}

/**
 * trunc_normal_(t, mean, std, a, b): N(mean, std²) restricted to [a, b]. Draws are clamped rather than redrawn, which
 * is the same distribution whenever [a, b] spans many standard deviations — as in every use here (std 0.02 within
 * ±2, Swin/SwinIR's init), where no draw ever reaches a bound.
 */
export function truncNormal_(
  t: Tensor,
  o: { mean?: number; std?: number; a?: number; b?: number; generator?: Generator } = {},
): Tensor {
  return t.normal_(o.mean ?? 0, o.std ?? 1, o.generator).clamp_(o.a ?? -2, o.b ?? 2);
}
