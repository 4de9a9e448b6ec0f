/**
 * Multiply-accumulate counting by running the network once with its Conv2d, ConvTranspose2d and Linear layers
 * observed (what ptflops does with hooks). Convention, per layer call, for the input actually given (batch included):
 *
 * - Conv2d:          MACs = N · Cout · Hout · Wout · (Cin / groups) · kh · kw      (weight elements per output element)
 * - ConvTranspose2d: MACs = N · Cin · Hin · Win · (Cout / groups) · kh · kw       (every input element meets kh·kw·Cout/g
 *                    weights; ptflops instead counts transposed convs per OUTPUT position, which overstates them)
 * - Linear:          MACs = (output elements) · in_features
 *
 * Biases, normalisation, activations, pooling, interpolation and element-wise sums are not counted; ptflops adds
 * Cout·Hout·Wout per biased conv and counts BN/ReLU/pooling elements, so its "FLOPs" for a CNN are a few percent higher.
 * Multiply by 2 for FLOPs in the multiply-and-add sense.
 *
 * ```ts
 * const { macs } = countMacs(net, () => net.call(x)); // macs.total, macs.byType.conv, ...
 * ```
 */
import { noGrad } from "../engine/autograd.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import { Conv2d, ConvTranspose2d } from "../nn/layers/conv.js";
import { Linear } from "../nn/layers/linear.js";
import type { Module } from "../nn/module.js";

export interface MacsReport {
  total: number;
  byType: { conv: number; convTranspose: number; linear: number };
  /** Per observed layer call, in call order (a layer called twice appears twice). */
  layers: { name: string; type: keyof MacsReport["byType"]; macs: number }[];
}

type Counted = Conv2d | ConvTranspose2d | Linear;

function macsOf(m: Counted, x: Tensor, y: Tensor): { type: keyof MacsReport["byType"]; macs: number } {
  const perElement = (w: Tensor) => w.numel / w.shape[0]!; // weight elements behind one output/input channel
  if (m instanceof Conv2d) return { type: "conv", macs: y.numel * perElement(m.weight) };
  // ConvTranspose2d weight [Cin, Cout/g, kh, kw]: one input element meets Cout/g·kh·kw weights.
  if (m instanceof ConvTranspose2d) return { type: "convTranspose", macs: x.numel * perElement(m.weight) };
  return { type: "linear", macs: y.numel * m.inFeatures };
}

/**
 * Runs `run` (which should call `root`, e.g. `() => net.call(x)`) without gradients, counting the MACs of every
 * Conv2d, ConvTranspose2d and Linear inside `root`. Returns the count and `run`'s result (owned by the caller).
 */
export function countMacs<T>(root: Module<never[], unknown>, run: () => T): { macs: MacsReport; result: T } {
  const macs: MacsReport = { total: 0, byType: { conv: 0, convTranspose: 0, linear: 0 }, layers: [] };
  const observed: Counted[] = [];
  for (const [name, m] of root.namedModules()) {
    if (!(m instanceof Conv2d || m instanceof ConvTranspose2d || m instanceof Linear)) continue;
    const layer = m as Counted;
    const forward = layer.forward;
    // An own property shadows the prototype's forward for this instance only; deleting it restores the layer.
    layer.forward = (x: Tensor): Tensor => {
      const y = forward.call(layer, x);
      const c = macsOf(layer, x, y);
      macs.total += c.macs;
      macs.byType[c.type] += c.macs;
      macs.layers.push({ name, ...c });
      return y;
    };
    observed.push(layer);
  }
  try {
    const result = noGrad(() => scope(run));
    return { macs, result };
  } finally {
    for (const m of observed) delete (m as { forward?: unknown }).forward;
  }
}
