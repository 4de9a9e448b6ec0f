// Parity with torch.optim (single-tensor implementations) and clip_grad_norm_: parameters after each of 5 steps, for
// gradients from a tiny MLP's loss and for fixed gradient sequences (some steps leave parameters without a gradient,
// which torch skips). Float32 within 1e-5 relative / 1e-6 absolute.
import {
  Adam,
  type AdamOptions,
  AdamW,
  clipGradNorm,
  F,
  type GroupSpec,
  type Optimizer,
  SGD,
  type SgdOptions,
  scalarTensor,
  scope,
  stack,
  type Tensor,
} from "../../src/engine/index.js";
import { type Inputs, parityTests } from "../support/parity.js";

const PARAMS = ["w1", "b1", "w2", "b2"] as const;

interface OptimArgs {
  kind: "sgd" | "adam" | "adamw";
  lr: number;
  groups: ({ params: string[] } & Partial<SgdOptions> & AdamOptions)[];
  grads: "mlp" | "fixed";
  steps: number;
  skip?: [number, string][];
}

function optimizer(a: OptimArgs, params: Record<string, Tensor>): Optimizer<{ lr: number }> {
  const groups = a.groups.map((g) => ({ ...g, params: g.params.map((n) => params[n]!) }));
  if (a.kind === "sgd") return new SGD(groups as GroupSpec<SgdOptions>[], { lr: a.lr });
  const adamGroups = groups as GroupSpec<Required<AdamOptions>>[];
  return a.kind === "adam" ? new Adam(adamGroups, { lr: a.lr }) : new AdamW(adamGroups, { lr: a.lr });
}

function mlpLoss(inputs: Inputs, p: Record<string, Tensor>): Tensor {
  const h = F.linear(inputs.x!, p.w1!, p.b1).tanh();
  return F.mseLoss(F.linear(h, p.w2!, p.b2), inputs.y!);
}

parityTests("optim", {
  optimizer: (inputs, a: OptimArgs) => {
    const p = Object.fromEntries(PARAMS.map((n) => [n, inputs[n]!.requiresGrad_()]));
    using opt = optimizer(a, p);
    const skip = new Set((a.skip ?? []).map(([step, n]) => `${step}.${n}`));
    const history = PARAMS.map((): Tensor[] => []);
    for (let step = 0; step < a.steps; step++) {
      opt.zeroGrad();
      if (a.grads === "mlp") {
        scope(() => mlpLoss(inputs, p).backward());
      } else {
        for (const n of PARAMS) if (!skip.has(`${step}.${n}`)) p[n]!.grad = inputs[`g${step}_${n}`];
      }
      opt.step();
      PARAMS.forEach((n, k) => {
        history[k]!.push(p[n]!.detach().clone());
      });
    }
    return history.map((h) => stack(h));
  },
  clipGradNorm: ({ p1, p2, g1, g2 }, a: { maxNorm: number; normType: number | "inf" }) => {
    p1!.grad = g1;
    p2!.grad = g2;
    const total = clipGradNorm([p1!, p2!], a.maxNorm, a.normType === "inf" ? Number.POSITIVE_INFINITY : a.normType);
    return [scalarTensor(total), p1!.grad!, p2!.grad!];
  },
});
