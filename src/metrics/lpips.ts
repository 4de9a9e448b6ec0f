/**
 * LPIPS v0.1 (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric", CVPR 2018),
 * as the lpips package computes it: inputs in [-1, 1] shifted and scaled by its ScalingLayer, features at five ReLUs
 * of AlexNet or VGG16 (torchvision's `features` layouts), each unit-normalised over channels (eps 1e-10 added to the
 * norm), squared differences weighted by the learned 1×1 convs `lin{k}`, averaged over space and summed over layers.
 *
 * Keys: `features.*` as torchvision's alexnet/vgg16 state dicts (their `.pth` loads with the classifier ignored) and
 * `lin{k}.model.1.weight` as the lpips package's `weights/v0.1/{alex,vgg}.pth`. Nothing is downloaded: both files
 * come from the user.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { tensor } from "../engine/creation.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import { ReLU } from "../nn/layers/activation.js";
import { Sequential } from "../nn/layers/container.js";
import { Conv2d } from "../nn/layers/conv.js";
import { Dropout } from "../nn/layers/misc.js";
import { MaxPool2d } from "../nn/layers/pool.js";
import { Module } from "../nn/module.js";
import { loadWeights } from "../nn/weights.js";

export type LpipsNet = "alex" | "vgg";

/** The smallest side whose deepest tapped feature map is not empty (AlexNet: stride-4 conv and two 3/2 pools). */
const MIN_SIZE: Record<LpipsNet, number> = { alex: 31, vgg: 16 };

/** torchvision's feature layers, and the indices (after which ReLU) LPIPS taps. */
function features(net: LpipsNet): { layers: Module<[Tensor], Tensor>[]; taps: number[]; channels: number[] } {
  const relu = () => new ReLU();
  const pool = () => new MaxPool2d(3, { stride: 2 });
  if (net === "alex") {
    return {
      layers: [
        new Conv2d(3, 64, 11, { stride: 4, padding: 2 }),
        relu(),
        pool(),
        new Conv2d(64, 192, 5, { padding: 2 }),
        relu(),
        pool(),
        new Conv2d(192, 384, 3, { padding: 1 }),
        relu(),
        new Conv2d(384, 256, 3, { padding: 1 }),
        relu(),
        new Conv2d(256, 256, 3, { padding: 1 }),
        relu(),
      ],
      taps: [1, 4, 7, 9, 11],
      channels: [64, 192, 384, 256, 256],
    };
  }
  const layers: Module<[Tensor], Tensor>[] = [];
  let cin = 3;
  for (const v of [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512] as const) {
    if (v === "M") layers.push(new MaxPool2d(2, { stride: 2 }));
    else {
      layers.push(new Conv2d(cin, v, 3, { padding: 1 }), relu());
      cin = v;
    }
  }
  return { layers, taps: [3, 8, 15, 22, 29], channels: [64, 128, 256, 512, 512] };
}

class NetLinLayer extends Module {
  readonly model: Sequential;
  constructor(channels: number) {
    super();
    this.model = this.module("model", new Sequential(new Dropout(), new Conv2d(channels, 1, 1, { bias: false })));
  }
  forward(x: Tensor): Tensor {
    return this.model.call(x);
  }
}

export class Lpips extends Module<[Tensor, Tensor], Tensor> {
  readonly features: Sequential;
  readonly lins: NetLinLayer[];
  readonly #taps: number[];

  constructor(readonly net: LpipsNet = "alex") {
    super();
    const f = features(net);
    this.features = this.module("features", new Sequential(...f.layers));
    this.#taps = f.taps;
    this.lins = f.channels.map((c, k) => this.module(`lin${k}`, new NetLinLayer(c)));
    this.requiresGrad_(false).eval();
  }

  /**
   * Distances [N] between images `a` and `b` [N, 3, H, W] in [0, 1] (the lpips package's `normalize=True`). Runs in
   * the module's mode; gradients flow to the inputs (LPIPS as a loss).
   */
  forward(a: Tensor, b: Tensor): Tensor {
    if (a.ndim !== 4 || a.shape[1] !== 3 || a.shape.join() !== b.shape.join()) {
      throw new TasksrError(
        "E_TENSOR_ARG",
        `LPIPS: expected two [N, 3, H, W] images of one shape, got [${a.shape}] and [${b.shape}]`,
      );
    }
    const min = MIN_SIZE[this.net];
    if (a.shape[2]! < min || a.shape[3]! < min) {
      throw new TasksrError(
        "E_TENSOR_ARG",
        `LPIPS (${this.net}) needs images of at least ${min}×${min} (its pooling stages), got ${a.shape[2]}×${a.shape[3]}`,
      );
    }
    const shift = tensor([-0.03, -0.088, -0.188]).reshape(1, 3, 1, 1);
    const scale = tensor([0.458, 0.448, 0.45]).reshape(1, 3, 1, 1);
    const prep = (x: Tensor) => x.mul(2).sub(1).sub(shift).div(scale);
    const fa = this.#tapped(prep(a));
    const fb = this.#tapped(prep(b));
    let total: Tensor | undefined;
    for (const [k, lin] of this.lins.entries()) {
      const d = unit(fa[k]!).sub(unit(fb[k]!)).square(); // [N, C_k, h_k, w_k]
      const layer = lin.call(d).mean([2, 3]).flatten(); // [N]
      total = total === undefined ? layer : total.add(layer);
    }
    return total!;
  }

  #tapped(x: Tensor): Tensor[] {
    const out: Tensor[] = [];
    let h = x;
    for (const [i, layer] of this.features.layers.entries()) {
      h = (layer as Module<[Tensor], Tensor>).call(h);
      if (this.#taps.includes(i)) out.push(h);
      if (out.length === this.#taps.length) break;
    }
    return out;
  }

  /**
   * Loads the backbone from torchvision's alexnet/vgg16 weights (the classifier is ignored) and the linear layers
   * from the lpips package's weights file; each must fill its part exactly.
   */
  loadFiles(backbone: string, lin: string): this {
    const fill = (file: string, prefix: string, what: string) => {
      const r = loadWeights(this as unknown as Module<never[], unknown>, file, { strict: false });
      if (r.mismatched.length > 0) {
        throw new TasksrError("E_STATE_DICT", `${file}: ${r.mismatched[0]!.key} has another shape than ${this.net}'s`);
      }
      const missing = r.missing.filter((k) => k.startsWith(prefix));
      if (missing.length > 0) throw new TasksrError("E_STATE_DICT", `${file}: not ${what} (missing ${missing[0]})`);
    };
    fill(backbone, "features.", `a torchvision ${this.net} file`);
    fill(lin, "lin", `an lpips ${this.net}.pth`);
    return this;
  }
}

/** x / (‖x‖₂ over channels + 1e-10), as lpips.normalize_tensor. */
function unit(x: Tensor): Tensor {
  return x.div(x.square().sum([1], true).sqrt().add(1e-10));
}

/**
 * LPIPS from the user's two weight files on `device`; a missing file is one `code` error naming it by `label` (a
 * command-line flag or a config field) and saying which file LPIPS needs. Nothing is left allocated on failure.
 */
export function loadLpips(
  net: LpipsNet,
  files: { backbone: readonly [label: string, path: string]; lin: readonly [label: string, path: string] },
  code: "E_CLI_ARG" | "E_CONFIG",
  device = "cpu",
): Lpips {
  for (const [label, file] of [files.backbone, files.lin]) {
    if (!existsSync(file)) {
      throw new TasksrError(
        code,
        `${label} ${file} does not exist; LPIPS needs torchvision's ${net === "alex" ? "alexnet" : "vgg16"} weights ` +
          `and the lpips package's weights/v0.1/${net}.pth (nothing is downloaded)`,
      );
    }
  }
  const m = new Lpips(net);
  try {
    return m.loadFiles(files.backbone[1], files.lin[1]).to(device);
  } catch (err) {
    m.dispose();
    throw err;
  }
}

/** The `eval.lpips` block of a run config, its paths relative to `baseDir`. */
export function lpipsFromConfig(
  c: { net: LpipsNet; backbone: string; lin: string },
  baseDir: string | undefined,
  device: string,
): Lpips {
  const path = (p: string) => (baseDir && !isAbsolute(p) ? join(baseDir, p) : p);
  const files = {
    backbone: ["eval.lpips.backbone:", path(c.backbone)],
    lin: ["eval.lpips.lin:", path(c.lin)],
  } as const;
  return loadLpips(c.net, files, "E_CONFIG", device);
}
