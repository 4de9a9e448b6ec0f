/**
 * A tasksr plug-in that adds a task: dense regression, a value per pixel (here the fineness of the texture under it;
 * data.js). It is written only against the package's public exports, as a plug-in outside this repository would be:
 *
 *   tasksr train --plugin ./examples/custom-task/plugin.js --config examples/custom-task/lr2task.yaml
 *   tasksr study examples/custom-task/study.yaml        (the study's `base.plugins` loads it)
 *
 * Importing it registers the `dense-regression` task (L1 loss, RMSE/MAE), the `dense-tiny` network and, through
 * data.js, the `dense-synthetic` dataset type. Every recipe (H→T, L→T, SR-FT, S→T, T→S, S+T, SR4IR) then works on
 * the task unchanged: recipes only see the task adapter.
 */
import {
  defineArch,
  defineTask,
  expectBatch,
  F,
  getPixelLoss,
  imagesToTensor,
  keep,
  nn,
  noGrad,
  scope,
  TasksrError,
  tensor,
  toDevice,
} from "tasksr";
import { z } from "zod";
import { denseData, TASK } from "./data.js";

/**
 * The engine-free module data worker threads import before they open a dataset (they never load the engine, so
 * they cannot import this file): it registers the dataset type and the task's data side there.
 */
export const workerModule = new URL("./data.js", import.meta.url).href;

/** Taps the network offers for SR4IR's task-driven perceptual (TDP) loss. */
const TAPS = ["f1", "f2"];

/**
 * `dense-tiny`: a 3x3 convolution at full resolution, two stride-2 3x3 convolutions down to 1/4, one more 3x3 there
 * (ReLU after each), a 1x1 head to one channel and a bilinear upsampling back to the input's size. The values are
 * constant over regions tens of pixels wide, so 1/4 resolution holds them; working there costs a quarter of the
 * same network at full resolution, which keeps the example's study within minutes on two CPU cores, and gives a
 * receptive field (31 px) of several periods of the coarsest grating. Children are registered under fixed names
 * (`conv1`…`conv4`, `head`), which become the state-dict keys of checkpoints and the ONNX initialisers' names.
 * Inputs are RGB in [0, 1], as every task network's.
 */
class DenseTiny extends nn.Module {
  /** @param {{ width: number }} o */
  constructor(o) {
    super();
    const w = o.width;
    this.tapNames = TAPS;
    this.conv1 = this.module("conv1", new nn.Conv2d(3, w, 3, { padding: 1 }));
    this.conv2 = this.module("conv2", new nn.Conv2d(w, 2 * w, 3, { stride: 2, padding: 1 }));
    this.conv3 = this.module("conv3", new nn.Conv2d(2 * w, 2 * w, 3, { stride: 2, padding: 1 }));
    this.conv4 = this.module("conv4", new nn.Conv2d(2 * w, 2 * w, 3, { padding: 1 }));
    this.head = this.module("head", new nn.Conv2d(2 * w, 1, 1));
  }

  /** [N, 3, H, W] in [0, 1] -> values [N, 1, H, W] (unbounded; the L1 loss pulls them into [0, 1]). */
  forward(x) {
    return this.forwardTaps(x, []).out;
  }

  /**
   * The values and the requested taps: `f1` (after conv1, [N, width, H, W]) and `f2` (after conv3,
   * [N, 2 width, H/4, W/4]). The scope frees every other intermediate; what the result holds (out and the Map's
   * tensors) moves to the caller's scope.
   */
  forwardTaps(x, names) {
    const unknown = names.filter((n) => !TAPS.includes(n));
    if (unknown.length) {
      throw new TasksrError("E_CONFIG", `dense-tiny has no tap ${unknown.join(", ")}; taps: ${TAPS.join(", ")}`);
    }
    return scope(() => {
      const taps = new Map();
      const f1 = F.relu(this.conv1.call(x));
      if (names.includes("f1")) taps.set("f1", f1);
      const f2 = F.relu(this.conv3.call(F.relu(this.conv2.call(f1))));
      if (names.includes("f2")) taps.set("f2", f2);
      const low = this.head.call(F.relu(this.conv4.call(f2)));
      const out = F.interpolate(low, { size: [x.shape[2], x.shape[3]], mode: "bilinear", alignCorners: false });
      return { out, taps };
    });
  }
}

defineArch({
  kind: `task.${TASK}`,
  name: "dense-tiny",
  description: "3x3 convs (full res, then stride 2 twice), 1x1 head, bilinear x4 up; taps f1 (full res), f2 (1/4)",
  schema: z.strictObject({ width: z.number().int().positive().default(16) }),
  build: (o) => new DenseTiny(o),
});

/** The task's criterion: the registry's L1 (mean |prediction − value| over pixels). */
const l1 = getPixelLoss("l1").fn;

/**
 * Accumulates squared and absolute errors in float64 on the host. The state is three numbers, so distributed
 * evaluation merges ranks exactly (sums are order-free up to float64 rounding). Metrics are reported ×100 (in % of the
 * value range [0, 1]) because reports print two decimals.
 */
function denseEvaluator(net) {
  let sumSq = 0;
  let sumAbs = 0;
  let count = 0;
  return {
    primary: "rmse",
    update(x, batch) {
      const b = expectBatch(batch, TASK);
      const [sq, ab, n] = scope(() =>
        noGrad(() => {
          const d = net.call(x).sub(b.values).double();
          return [d.square().sum().item(), d.abs().sum().item(), d.numel];
        }),
      );
      sumSq += sq;
      sumAbs += ab;
      count += n;
    },
    compute: () => ({
      rmse: count ? 100 * Math.sqrt(sumSq / count) : Number.NaN,
      mae: count ? (100 * sumAbs) / count : Number.NaN,
    }),
    state: () => ({ sumSq, sumAbs, count }),
    mergeState(s) {
      const ok =
        s !== null && typeof s === "object" && ["sumSq", "sumAbs", "count"].every((k) => typeof s[k] === "number");
      if (!ok) throw new TasksrError("E_TENSOR_ARG", `${TASK} evaluator: state ${JSON.stringify(s)} does not fit`);
      sumSq += s.sumSq;
      sumAbs += s.sumAbs;
      count += s.count;
    },
  };
}

/** A value map (H*W floats) as a greyscale RGB image: values in [0, 1] × 255, clamped. */
function grey(values, width, height) {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, values[p])));
    data[p * 3] = v;
    data[p * 3 + 1] = v;
    data[p * 3 + 2] = v;
  }
  return { data, width, height, channels: 3 };
}

const rmseOf = (a, b) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return 100 * Math.sqrt(s / a.length);
};

defineTask({
  name: TASK,
  data: denseData,
  metrics: { primary: "rmse", labels: { rmse: "RMSE (×100, lower is better)", mae: "MAE (×100)" } },
  /**
   * Host batch -> engine tensors. The images may lie in a worker's shared buffer (`shared`), which imagesToTensor
   * views without a copy; the value map is copied by tensor(), because its buffer is handed back to the worker once
   * upload returns. keep(scope(...)) frees the temporaries and gives the caller (disposeBatch) the results.
   */
  upload(host, o, shared) {
    const device = o.device ?? "cpu";
    const n = host.ids.length;
    const t = keep(
      scope(() => ({
        hr: imagesToTensor(host.images, n, host.height, host.width, device, shared),
        values: toDevice(tensor(host.values, { shape: [n, 1, host.height, host.width] }), device),
      })),
    );
    return { task: TASK, ids: host.ids, ...t };
  },
  // The dataset has no classes; the network takes no numClasses option (its schema is strict).
  netOptions: () => ({}),
  adapter: (net) => ({
    task: TASK,
    net,
    tapNames: net.tapNames,
    loss(x, batch) {
      const b = expectBatch(batch, TASK);
      const loss = l1(net.call(x), b.values);
      return { total: loss, parts: { l1: loss } };
    },
    taps: (x, names) => scope(() => net.forwardTaps(x, names).taps),
    paramGroups: () => [{ params: net.parameters(), lrMult: 1 }],
    evaluator: () => denseEvaluator(net),
  }),
  visual: {
    /** Per image: [prediction, ground truth] value maps as host arrays (called in eval mode, no grad, in a scope). */
    predict(net, xs, batch, n) {
      const b = expectBatch(batch, TASK);
      const pred = net.call(xs).float().data();
      const gt = b.values.narrow(0, 0, n).contiguous().data();
      const size = pred.length / n;
      return Array.from({ length: n }, (_, i) => [
        pred.slice(i * size, (i + 1) * size),
        gt.slice(i * size, (i + 1) * size),
      ]);
    },
    /** Row: the network's input (unless it is HR), HR, the predicted and the true value map in grey. */
    async draw(c) {
      const { width, height } = c.hr;
      const pred = grey(c.pred, width, height);
      const gt = grey(c.gt, width, height);
      const rmse = rmseOf(c.pred, c.gt);
      const row = [
        ...(c.hrInput ? [] : [{ image: c.input, caption: c.inputName }]),
        { image: c.hr, caption: "HR" },
        { image: pred, caption: `prediction (RMSE ${rmse.toFixed(1)})` },
        { image: gt, caption: "ground truth" },
      ];
      return { pred: ["pred", pred], gt: ["gt", gt], row, index: { rmse } };
    },
  },
  inspect: { input: [3, 48, 48] },
  exportHead: (net) => ({ fn: (x) => net.call(x), output: "values" }),
});
