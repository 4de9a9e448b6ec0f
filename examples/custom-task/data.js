/**
 * The data side of the `dense-regression` example task: the `dense-synthetic` dataset type and the task's batch
 * assembly and transform presets.
 *
 * This module is the plug-in's `workerModule` (plugin.js): data worker threads import it before they open a dataset,
 * and workers never load the engine, so it imports only `tasksr/data` and zod — never `tasksr`. Everything here is
 * plain typed-array work.
 *
 * The data: each image is split into four rectangles, each filled with a sinusoidal grating of random orientation,
 * phase and colours whose period (2–8 px by default) alone sets the target value of its pixels:
 * value = (1/period − 1/max) / (1/min − 1/max), so 1 is the finest grating and 0 the coarsest. Colours and contrast
 * are drawn independently of the period, so the value can only be read from fine detail. After x4 downsampling these
 * gratings are at or beyond the LR image's Nyquist limit (8 px): they alias or blur away, and a regressor fed bicubic
 * LR loses most of its signal — the situation task-driven SR is meant for.
 */
import { defineDataset, defineTaskData, Rng, TasksrError } from "tasksr/data";
import { z } from "zod";

/** The task's name, shared with plugin.js (which defines the engine side under the same name). */
export const TASK = "dense-regression";

/**
 * Options of `{ type: dense-synthetic, ... }`. `schema` validates config blocks at load time (errors name the field),
 * and `open` parses the same options again, because it receives them raw (without `type`).
 */
export const denseSyntheticSchema = z
  .strictObject({
    /** Which stream of images: train and val never share an image, whatever `length`. */
    split: z.enum(["train", "val"]).default("train"),
    /** Number of images. */
    length: z.number().int().positive().default(400),
    /** Side of the square HR images in pixels; a multiple of `scale`, so LR images have whole pixels. */
    size: z.number().int().positive().default(48),
    /** The SR scale the data is made for (only checked against `size`; the run's `scale` does the downsampling). */
    scale: z.number().int().positive().default(4),
    /** Seed of the image streams: image i of a split is the same on every call, thread and machine. */
    seed: z.number().int().min(0).default(0),
    /** [shortest, longest] grating period in HR pixels, mapped to values 1 and 0. */
    periods: z
      .tuple([z.number().min(2), z.number().min(2)])
      .default([2, 8])
      .refine(([a, b]) => b > a, { message: "periods: [shortest, longest] with longest > shortest" }),
  })
  .refine((o) => o.size % o.scale === 0, {
    path: ["size"],
    message: "size must be a multiple of scale (the LR image must have whole pixels)",
  });

/** The value of a grating of `period` px for the period range [lo, hi]: 1/period rescaled to [0, 1]. */
export const periodToValue = (period, [lo, hi]) => (1 / period - 1 / hi) / (1 / lo - 1 / hi);
/** The inverse of periodToValue. */
export const valueToPeriod = (value, [lo, hi]) => 1 / (1 / hi + value * (1 / lo - 1 / hi));

/**
 * Renders image `index` of a dense-synthetic dataset with options `o` (parsed): RGB bytes (HWC) and the value map
 * (H*W floats in [0, 1]). Deterministic: one Rng stream per (seed, split, index), as the loader's augmentation uses
 * per-sample streams, so a worker thread and the main thread render the same pixels.
 */
export function renderDense(o, index) {
  const s = o.size;
  const rng = new Rng(o.seed, o.split === "train" ? 0 : 1, index);
  // Four rectangles around a random split point, so region borders move from image to image.
  const cx = rng.int(Math.round(s / 4), Math.round((3 * s) / 4));
  const cy = rng.int(Math.round(s / 4), Math.round((3 * s) / 4));
  const regions = [0, 1, 2, 3].map(() => {
    const value = rng.next();
    const period = valueToPeriod(value, o.periods);
    const theta = rng.uniform(0, Math.PI);
    // Mean colour and per-channel amplitude drawn independently of the period: colour tells nothing about the value.
    const mean = [0, 1, 2].map(() => rng.uniform(0.3, 0.7));
    const amp = [0, 1, 2].map(() => rng.uniform(0.15, 0.3) * (rng.bool() ? 1 : -1));
    return {
      value,
      kx: (2 * Math.PI * Math.cos(theta)) / period,
      ky: (2 * Math.PI * Math.sin(theta)) / period,
      phase: rng.uniform(0, 2 * Math.PI),
      mean,
      amp,
    };
  });
  const data = new Uint8Array(s * s * 3);
  const values = new Float32Array(s * s);
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const r = regions[(y < cy ? 0 : 2) + (x < cx ? 0 : 1)];
      const wave = Math.sin(r.kx * x + r.ky * y + r.phase);
      const p = y * s + x;
      values[p] = r.value;
      for (let c = 0; c < 3; c++) {
        const v = r.mean[c] + r.amp[c] * wave;
        data[p * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
  }
  return { data, values };
}

/** Parses dense-synthetic options the way configs are parsed, as one E_CONFIG error naming the block and field. */
export function parseDenseOptions(options, where = "dataset") {
  const parsed = denseSyntheticSchema.safeParse(options);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${where}.${i.path.join(".")}: ${i.message}`).join("; ");
    throw new TasksrError("E_CONFIG", msg);
  }
  return parsed.data;
}

/**
 * Opens a dense-synthetic dataset: a Dataset of `length` samples rendered on demand (nothing is stored), each
 * `{ id, image, target: { kind: "values", values, width, height } }`. It has no classes.
 */
export function openDenseSynthetic(options, where = "dataset") {
  const o = parseDenseOptions(options, where);
  return {
    task: TASK,
    classes: [],
    length: o.length,
    async get(i) {
      if (!Number.isInteger(i) || i < 0 || i >= o.length) {
        throw new TasksrError("E_CONFIG", `${where}: index ${i} out of range [0, ${o.length})`);
      }
      const { data, values } = renderDense(o, i);
      return {
        id: `${o.split}-${String(i).padStart(5, "0")}`,
        image: { data, width: o.size, height: o.size, channels: 3 },
        target: { kind: "values", values, width: o.size, height: o.size },
      };
    },
    // Every image has one size: the loader can group without rendering.
    size: async () => ({ width: o.size, height: o.size }),
  };
}

defineDataset("dense-synthetic", {
  schema: denseSyntheticSchema,
  // No option is a file path: nothing to resolve from the config's folder.
  paths: [],
  open: async (options, where) => openDenseSynthetic(options, where),
});

/**
 * Mirrors image and value map together. The built-in flips only know the built-in target kinds (class, mask, boxes),
 * so the preset moves the value map itself.
 */
function flipSample(s, axis) {
  const { width: w, height: h, data } = s.image;
  const img = new Uint8Array(data.length);
  const values = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = axis === "x" ? w - 1 - x : x;
      const sy = axis === "y" ? h - 1 - y : y;
      const src = sy * w + sx;
      const dst = y * w + x;
      values[dst] = s.target.values[src];
      img[dst * 3] = data[src * 3];
      img[dst * 3 + 1] = data[src * 3 + 1];
      img[dst * 3 + 2] = data[src * 3 + 2];
    }
  }
  return { ...s, image: { ...s.image, data: img }, target: { ...s.target, values } };
}

/** `data.transforms` of the task: flip probabilities for training (evaluation never augments). */
const presetOptions = z.strictObject({
  hflip: z.number().min(0).max(1).default(0.5),
  vflip: z.number().min(0).max(1).default(0.5),
});

/**
 * The task's data side. `assemble` runs in a data worker when there are workers: the large arrays (images and value
 * maps) come from `arrays`, whose shared buffers the main thread views without a copy; `ids` is small and plain.
 */
export const denseData = {
  name: TASK,
  // Every image of a batch has the same size: stacked, not padded.
  padded: false,
  assemble(samples, _o, arrays) {
    if (samples.length === 0) throw new TasksrError("E_TENSOR_ARG", `${TASK} collate: empty batch`);
    const { width: w, height: h } = samples[0].image;
    const n = samples.length;
    const plane = w * h;
    const images = arrays ? arrays.float32(n * 3 * plane) : new Float32Array(n * 3 * plane);
    const values = arrays ? arrays.float32(n * plane) : new Float32Array(n * plane);
    samples.forEach((s, i) => {
      const t = s.target;
      if (t.kind !== "values") {
        throw new TasksrError("E_CONFIG", `${TASK} collate: sample ${s.id} has a "${t.kind}" target, need "values"`);
      }
      if (s.image.width !== w || s.image.height !== h || t.width !== w || t.height !== h) {
        throw new TasksrError("E_TENSOR_ARG", `${TASK} collate: ${s.id} is not ${w}x${h} (image and value map)`);
      }
      // HWC uint8 -> planar float in [0, 1], the layout of the batch tensor [N, 3, H, W].
      const src = s.image.data;
      const base = i * 3 * plane;
      for (let p = 0; p < plane; p++) {
        images[base + p] = src[p * 3] / 255;
        images[base + plane + p] = src[p * 3 + 1] / 255;
        images[base + 2 * plane + p] = src[p * 3 + 2] / 255;
      }
      values.set(t.values, i * plane);
    });
    return { task: TASK, ids: samples.map((s) => s.id), images, height: h, width: w, values };
  },
  presets: {
    schema: presetOptions,
    /**
     * Training: random horizontal and vertical flips (two draws per sample, whatever the outcome, so a sample's
     * augmentation depends only on its own stream). Evaluation: identity. Options arrive validated by `schema`
     * (from the run's data.transforms); parsed again here for the defaults.
     */
    build(split, options) {
      const o = presetOptions.parse(options);
      if (split !== "train") return (s) => s;
      return (s, rng) => {
        const fx = rng.bool(o.hflip);
        const fy = rng.bool(o.vflip);
        let out = s;
        if (fx) out = flipSample(out, "x");
        if (fy) out = flipSample(out, "y");
        return out;
      };
    },
  },
};

defineTaskData(denseData);
